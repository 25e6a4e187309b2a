// The explorer for auditors: every view reads the node's JSON API; the hash names the view
// (#/tx/0x…, #/block/N, #/account/0x…, #/utxo/N, #/order/0x…, #/pair/BASE:QUOTE) so a search result is a link.
import { ApiError, applyBrand, call, el, formatAmount, short, table, tokenOf } from "./api.js";
import { unrlp } from "./eth.js";
import { fromHex, isAddress, orderId, splitPos, toHex } from "./omg.js";

const $ = (id) => document.getElementById(id);
let brand;

const link = (hash, text) => el("a", { href: `#/${hash}` }, text);
const txLink = (h) => link(`tx/${h}`, short(h));
const blockLink = (n) => link(`block/${n}`, String(n));
const accountLink = (a) => (a ? link(`account/${a}`, short(a)) : "");
const amountOf = (amount, currency) => {
  const t = tokenOf(brand, currency);
  return `${formatAmount(amount, t.decimals)} ${t.symbol}`;
};
const section = (title, ...body) => el("section", {}, el("h2", {}, title), ...body);
const facts = (pairs) => el("dl", {}, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
const code = (text) => el("code", { class: "wrap" }, text);
const symbol = (currency) => tokenOf(brand, currency).symbol;
const pairLink = (base, quote) => link(`pair/${base}:${quote}`, `${symbol(base)}/${symbol(quote)}`);
const orderLink = (id) => link(`order/${id}`, short(id));
/** A uniform price (quote units per base unit, num/den) in whole tokens: quote per one base,
 * with up to 8 decimals and "…" when that is not exact. */
function priceOf(num, den, quote, base) {
  const n = BigInt(num) * 10n ** BigInt(tokenOf(brand, base).decimals), d = BigInt(den) * 10n ** BigInt(tokenOf(brand, quote).decimals);
  const scaled = (n * 10n ** 8n) / d, whole = scaled / 10n ** 8n;
  const frac = (scaled % 10n ** 8n).toString().padStart(8, "0").replace(/0+$/, "");
  return `${whole}${frac ? `.${frac}` : ""}${scaled * d === n * 10n ** 8n ? "" : "…"} ${symbol(quote)} per ${symbol(base)}`;
}
const limitOf = (o) => `${amountOf(o.buy_amount, o.buy_token)} for ${amountOf(o.sell_amount, o.sell_token)}`;

function tradeRows(trades) {
  return trades.map((t) => [blockLink(t.blknum), txLink(t.txhash), pairLink(t.base, t.quote), priceOf(t.price_num, t.price_den, t.quote, t.base),
    accountLink(t.owner), amountOf(t.sold, t.sell_token), amountOf(t.bought, t.buy_token), amountOf(t.fee, t.buy_token), orderLink(t.order_id)]);
}
const TRADE_HEADERS = ["Block", "Settlement", "Pair", "Price", "Owner", "Sold", "Bought", "Fee", "Order"];

function orderRows(orders) {
  return orders.map((o) => [orderLink(o.order_id), accountLink(o.owner), `${symbol(o.sell_token)} → ${symbol(o.buy_token)}`,
    limitOf(o), amountOf(o.amount, o.sell_token), String(o.expiry), o.status]);
}
const ORDER_HEADERS = ["Order", "Owner", "Sells → buys", "Limit (at least)", "Open", "Expiry block", "Status"];

function levelRows(levels, base, quote, amountToken) {
  return levels.map((l) => [priceOf(l.price_num, l.price_den, quote, base), amountOf(l.amount, amountToken), String(l.orders)]);
}

/** An ORDER's or a SETTLEMENT's txData, read from its signed bytes: [sigs, type, inputs, outputs, txData, metadata]. */
function txData(txbytes) {
  const data = unrlp(fromHex(txbytes))[4];
  const int = (b) => BigInt(b.length ? toHex(b) : 0).toString();
  const address = (b) => toHex(b);
  return { int, address, data };
}

function orderSection(tx) {
  const { int, address, data } = txData(tx.txbytes);
  const [buyToken, buyAmount, expiry, nonce] = data;
  const order = tx.outputs[0];
  const id = orderId({ owner: order.owner, sellToken: order.currency, buyToken: address(buyToken), sellAmount: order.amount,
    buyAmount: int(buyAmount), expiry: int(expiry), nonce: int(nonce) });
  return section("Order terms", facts([["Order", link(`order/${id}`, id)], ["Owner", accountLink(order.owner)],
    ["Sells", amountOf(order.amount, order.currency)], ["For at least", amountOf(int(buyAmount), address(buyToken))],
    ["Pair", pairLink(...[order.currency, address(buyToken)].sort())], ["Expiry block", int(expiry)], ["Nonce", int(nonce)],
    ["Order output", link(`utxo/${order.utxo_pos}`, String(order.utxo_pos))]]));
}

function settlementSection(tx) {
  const { int, address, data } = txData(tx.txbytes);
  return section("Fills (one per input, in input order)", table(["Input", "Owner", "Limit (at least)", "Sold", "Bought", "Fee", "Expiry"],
    data.map(([owner, sell, buy, sellAmount, buyAmount, expiry, , sold, bought, fee], i) => {
      const input = tx.inputs[i];
      return [input ? link(`utxo/${input.utxo_pos}`, String(input.utxo_pos)) : String(i), accountLink(address(owner)),
        `${amountOf(int(buyAmount), address(buy))} for ${amountOf(int(sellAmount), address(sell))}`,
        amountOf(int(sold), address(sell)), amountOf(int(bought), address(buy)), amountOf(int(fee), address(buy)), int(expiry)];
    })));
}
const TX_TYPES = { 1: "payment", 3: "fee", 4: "order", 5: "settlement" };

async function orderView(id) {
  const o = await call("order.get", { id });
  return [section(`Order ${id}`, facts([["Status", o.status], ["Owner", accountLink(o.owner)],
    ["Pair", pairLink(...[o.sell_token, o.buy_token].sort())], ["Sells", amountOf(o.sell_amount, o.sell_token)],
    ["For at least", amountOf(o.buy_amount, o.buy_token)], ["Still open", amountOf(o.amount, o.sell_token)],
    ["Order output", o.utxo_pos != null ? link(`utxo/${o.utxo_pos}`, String(o.utxo_pos)) : "none"],
    ["Expiry block", String(o.expiry)], ["Nonce", String(o.nonce)], ["Placed by", txLink(o.placed_txhash)]])),
  section("Fills", table(TRADE_HEADERS, tradeRows(o.fills)))];
}

/** Where a search goes: an address, a 32-byte hash, a UTXO position (>= 10^9) or a block. */
export function searchTarget(query) {
  const q = query.trim();
  if (isAddress(q)) return `account/${q}`;
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) return `tx/${q.toLowerCase()}`; // or an order id: the view tries both
  if (/^\d+$/.test(q)) return BigInt(q) >= 1000000000n ? `utxo/${q}` : `block/${q}`;
  return null;
}

function utxoRows(utxos) {
  return utxos.map((u) => [link(`utxo/${u.utxo_pos}`, String(u.utxo_pos)), accountLink(u.owner),
    amountOf(u.amount, u.currency), u.spending_txhash ? txLink(u.spending_txhash) : "unspent"]);
}
const UTXO_HEADERS = ["Position", "Owner", "Amount", "Spent by"];

function txRows(txs) {
  return txs.map((tx) => [txLink(tx.txhash), tx.block ? blockLink(tx.block.blknum) : "open", String(tx.txindex),
    String(tx.inputs.length), String(tx.outputs.length)]);
}
const TX_HEADERS = ["Hash", "Block", "Index", "Inputs", "Outputs"];

const views = {
  "": async () => {
    const [status, blocks, txs] = await Promise.all([call("status.get"), call("block.all", { limit: 10 }),
      call("transaction.all", { limit: 10 })]);
    return [section("Chain", facts([
      ["Last sealed child block", String(status.last_validated_child_block_number)],
      ["Last block submitted to the root chain", String(status.last_mined_child_block_number)],
      ["Root-chain height followed", String(status.last_seen_eth_block_number)],
      ["PlasmaFramework", status.contract_addr.plasma_framework || "none"],
      ["Byzantine events", String(status.byzantine_events.length)],
      ["In-flight exits", String(status.in_flight_exits.length)]])),
    section("Latest blocks", blockTable(blocks)), section("Latest transactions", table(TX_HEADERS, txRows(txs)))];
  },
  blocks: async () => [section("Blocks", blockTable(await call("block.all", { limit: 100 })))],
  txs: async () => [section("Transactions", table(TX_HEADERS, txRows(await call("transaction.all", { limit: 100 }))))],
  async block(n) {
    const found = await call("block.get", { blknum: Number(n) });
    const txs = await call("transaction.all", { blknum: Number(n), limit: 1000 });
    const commit = await call("commit.get", { blknum: Number(n) }).catch(() => null);
    return [section(`Block ${n}`, facts([["Root", code(found.hash)], ["Transactions", String(found.tx_count)],
      ["Log head", commit ? code(commit.log_head) : "deposit block"],
      ["Signers", commit?.signers_bitmap ?? "no validator commit"]])),
    section("Transactions", table(TX_HEADERS, txRows(txs)))];
  },
  async tx(hash) {
    const tx = await call("transaction.get", { id: hash }).catch(async (err) => {
      if (await call("order.get", { id: hash }).then(() => true, () => false)) return null;
      throw err;
    });
    if (tx === null) return orderView(hash); // a 32-byte hash that is an order id
    const dex = tx.txtype === 4 ? [orderSection(tx)] : tx.txtype === 5 ? [settlementSection(tx)] : [];
    return [section("Transaction", facts([["Hash", code(tx.txhash)],
      ["Block", tx.block ? blockLink(tx.block.blknum) : "open (not yet sealed)"], ["Index", String(tx.txindex)],
      ["Type", `${tx.txtype} (${TX_TYPES[tx.txtype] ?? "unknown"})`], ["Metadata", code(tx.metadata)], ["Signed bytes", code(tx.txbytes)]])),
    ...dex, section("Inputs", table(UTXO_HEADERS, utxoRows(tx.inputs))), section("Outputs", table(UTXO_HEADERS, utxoRows(tx.outputs)))];
  },
  order: orderView,
  async dex() {
    const [books, prices, fees] = await Promise.all([call("order.book"), call("clearing.prices"), call("fees.trading")]);
    const pairs = new Map([...books, ...prices, ...fees].map((p) => [`${p.base}:${p.quote}`, p]));
    const price = (p) => prices.find((c) => c.base === p.base && c.quote === p.quote);
    const book = (p) => books.find((b) => b.base === p.base && b.quote === p.quote);
    return [section("Markets", table(["Pair", "Last clearing price", "Block", "Asks", "Bids", "Trading fee"],
      [...pairs.values()].map((p) => [pairLink(p.base, p.quote), price(p) ? priceOf(price(p).price_num, price(p).price_den, p.quote, p.base) : "none",
        price(p) ? blockLink(price(p).blknum) : "", String(book(p)?.asks.length ?? 0), String(book(p)?.bids.length ?? 0),
        `${fees.find((f) => f.base === p.base && f.quote === p.quote)?.bps ?? 0} bps`]))),
    section("Latest trades", table(TRADE_HEADERS, tradeRows(await call("trade.all", { limit: 20 }))))];
  },
  async pair(id) {
    const tokens = id.split(":");
    const [[book], [price], [fee], trades] = await Promise.all([call("order.book", { tokens }), call("clearing.prices", { tokens }),
      call("fees.trading", { tokens }), call("trade.all", { tokens, limit: 100 })]);
    const [base, quote] = tokens;
    return [section(`Pair ${symbol(base)}/${symbol(quote)}`, facts([["Base", code(base)], ["Quote", code(quote)],
      ["Last clearing price", price ? priceOf(price.price_num, price.price_den, quote, base) : "no batch has matched yet"],
      ["Cleared in block", price ? blockLink(price.blknum) : "none"], ["Trading fee", `${fee?.bps ?? 0} bps of the bought amount`]])),
    section("Order book", el("h3", {}, `Asks (selling ${symbol(base)}, lowest first)`),
      table(["Price", "Open", "Orders"], levelRows(book?.asks ?? [], base, quote, base)),
      el("h3", {}, `Bids (selling ${symbol(quote)}, highest first)`),
      table(["Price", "Open", "Orders"], levelRows(book?.bids ?? [], base, quote, quote))),
    section("Trades", table(TRADE_HEADERS, tradeRows(trades)))];
  },
  async account(address) {
    const [balances, utxos, txs] = await Promise.all([call("account.get_balance", { address }),
      call("account.get_utxos", { address }), call("account.get_transactions", { address, limit: 100 })]);
    const validator = await call("validator.get", { address }).catch(() => null);
    const [orders, trades] = await Promise.all([call("order.all", { address, limit: 100 }), call("trade.all", { address, limit: 100 })]);
    return [section(`Account ${address}`, table(["Token", "Balance"], balances.map((b) => [tokenOf(brand, b.currency).symbol,
      amountOf(b.amount, b.currency)])), validator ? facts([["Validator", `bonded ${validator.bonded}, ${validator.active ? "active" : "inactive"}${validator.jailed ? ", jailed" : ""}`]]) : ""),
    section("Unspent outputs", table(UTXO_HEADERS, utxoRows(utxos))), section("Transactions", table(TX_HEADERS, txRows(txs))),
    section("Orders in custody", table(ORDER_HEADERS, orderRows(orders))), section("Trades", table(TRADE_HEADERS, tradeRows(trades)))];
  },
  async utxo(pos) {
    const { blknum, txindex, oindex } = splitPos(pos);
    const block = await call("block.get", { blknum: Number(blknum) });
    const txs = await call("transaction.all", { blknum: Number(blknum), limit: 1000,
      page: Math.floor((block.tx_count - 1 - Number(txindex)) / 1000) + 1 });
    const tx = txs.find((t) => BigInt(t.txindex) === txindex);
    const output = tx?.outputs.find((u) => BigInt(u.oindex) === oindex) ?? await depositOutput(blknum, pos);
    if (!output) throw new ApiError("utxo_not_found", `no output at ${pos}`);
    return [section(`Output ${pos}`, facts([["Block", blockLink(blknum)], ["Transaction", tx ? txLink(tx.txhash) : "deposit"],
      ["Owner", accountLink(output.owner)], ["Amount", amountOf(output.amount, output.currency)],
      ["Spent by", output.spending_txhash ? txLink(output.spending_txhash) : "unspent"]]))];
  },
  async exits() {
    const [exits, status] = await Promise.all([call("exit.all"), call("status.get")]);
    return [section("Exits", table(["Id", "Kind", "Status", "Output or transaction", "Owner", "Amount", "Piggybacks"],
      exits.map((x) => [String(x.exit_id), x.kind, x.status, x.utxo_pos != null ? link(`utxo/${x.utxo_pos}`, String(x.utxo_pos)) : short(x.txhash),
        accountLink(x.owner), x.amount != null ? amountOf(x.amount, x.currency) : "",
        x.kind === "in_flight" ? `in ${x.piggybacked_inputs.join(",") || "-"} / out ${x.piggybacked_outputs.join(",") || "-"}` : ""]))),
    section("Watcher reports (byzantine events)", table(["Event", "Detail"],
      status.byzantine_events.map((e) => [e.event, e.details.detail ?? JSON.stringify(e.details)])))];
  },
  async validators() {
    const vs = await call("validator.all");
    return [section("Validators", table(["Address", "Bonded", "Active", "Jailed", "Missed", "Nonce"],
      vs.map((v) => [accountLink(v.address), String(v.bonded), v.active ? "yes" : "no",
        v.tombstoned ? "tombstoned" : v.jailed ? `until ${v.jailed_until}` : "no", String(v.missed_in_window), String(v.nonce)])))];
  },
  async commits() {
    const commits = await call("commit.all", { limit: 100 });
    return [section("Commits", table(["Block", "Root", "Log head", "Signers"], commits.map((c) =>
      [blockLink(c.blknum), short(c.root), short(c.log_head), c.signers_bitmap ?? "none"])))];
  },
  async fees() {
    const [fees, epoch, trading] = await Promise.all([call("fees.all"), call("fee_epoch.get"), call("fees.trading")]);
    const rows = Object.entries(fees).flatMap(([type, items]) => items.map((f) => [type, amountOf(f.amount, f.currency)]));
    return [section("Fees", table(["Transaction type", "Fee"], rows)),
      section("Trading fees (basis points of the bought amount, per pair)", table(["Pair", "Fee"],
        trading.map((f) => [pairLink(f.base, f.quote), `${f.bps} bps`]))),
      section(`Fee epoch ${epoch.epoch}`, facts([["Blocks per epoch", String(epoch.epoch_blocks)]]),
        table(["Distributed"], epoch.fees_distributed.map((f) => [amountOf(f.amount, f.currency)])),
        table(["Validator", "Voted schedule"], epoch.votes.map((v) => [accountLink(v.validator),
          v.schedule.map((r) => `type ${r.tx_type}: ${amountOf(r.amount, r.currency)}`).join("; ")])))];
  },
  async audit() {
    const inv = await call("invariant.status");
    const invariants = section("Invariants", facts([["Verdict", inv.ok ? "all hold" : `violated: ${inv.violation.invariant}`],
      ["Events", String(inv.events)]]), inv.violation ? el("p", { class: "error" }, inv.violation.detail) : "",
      table(["Checked on the latest state"], inv.checked.map((id) => [id])));
    const verdict = el("div", {}, el("p", {}, "Replaying the node's log from genesis…"));
    call("audit.get").then((a) => verdict.replaceChildren(facts([["Verdict", a.ok ? "clean" : "FAILED"],
      ["Events", String(a.events)], ["Head", code(a.head_hash)],
      ["Anchored", a.anchored_through >= 0 ? `through event ${a.anchored_through}` : "nothing outside the log anchors it"],
      ["Unanchored", a.unanchored ? `events ${a.unanchored[0]}..${a.unanchored[1]}: consistent, but nothing outside the log vouches for them` : "none"], ["First failure", a.failure ? JSON.stringify(a.failure) : "none"],
      ["Findings", a.findings.length ? a.findings.map((f) => JSON.stringify(f)).join("; ") : "none"]])))
      .catch((err) => verdict.replaceChildren(el("p", { class: "error" }, err.message)));
    return [invariants, section("Audit of the node's log", verdict)];
  },
};

function blockTable(blocks) {
  return table(["Block", "Root", "Transactions"], blocks.map((b) => [blockLink(b.blknum), short(b.hash), String(b.tx_count)]));
}

/** A deposit block's output from deposit.all (deposits are not in transaction.all). */
async function depositOutput(blknum, pos) {
  for (let page = 1; ; page++) {
    const deposits = await call("deposit.all", { page, limit: 1000 });
    const found = deposits.flatMap((d) => d.txoutputs).find((u) => BigInt(u.utxo_pos) === BigInt(pos));
    if (found || deposits.length < 1000) return found;
  }
}

async function render() {
  const [name, arg] = location.hash.replace(/^#\/?/, "").split("/");
  const view = views[name] ?? views[""];
  $("status").textContent = "";
  $("status").className = "status";
  for (const a of document.querySelectorAll(".tabs a")) a.classList.toggle("current", a.getAttribute("href") === `#/${name}`);
  try {
    $("view").replaceChildren(...await view(arg ? decodeURIComponent(arg) : undefined));
  } catch (err) {
    $("view").replaceChildren();
    $("status").textContent = err.message;
    $("status").className = "status error";
  }
  $("view").dataset.rendered = location.hash;
}

async function start() {
  brand = await applyBrand();
  document.title = `${brand.name} · Explorer`;
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const target = searchTarget($("search").value);
    if (target) location.hash = `#/${target}`;
    else { $("status").textContent = "Search for an address, a transaction hash, an order id, a block number or a UTXO position."; $("status").className = "status error"; }
  });
  window.addEventListener("hashchange", render);
  await render();
}

start().catch((err) => { $("status").textContent = err.message; $("status").className = "status error"; });
