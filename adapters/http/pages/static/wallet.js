// The white-label wallet: a key made or imported here and kept in this browser's storage,
// balances, history, payments signed here (EIP-712) and checked before signing, and standard
// exits started here: an Ethereum transaction signed with the same key and sent to the node's
// embedded chain (its exit data shown instead when the node follows a chain of its own).
import { applyBrand, call, el, formatAmount, parseAmount, short, table, tokenOf, stringify } from "./api.js";
import { embedded, startStandardExit } from "./eth.js";
import { addressOf, checkPayment, isAddress, newSecretKey, parseSecretKey, sign, signingHash, toHex } from "./omg.js";

const KEY = "omg-wallet-secret-key";
const $ = (id) => document.getElementById(id);
let brand, secret, address;

function say(text, kind = "info") {
  $("status").textContent = text;
  $("status").className = `status ${kind}`;
}

async function start() {
  brand = await applyBrand();
  document.title = `${brand.name}`;
  $("send-token").replaceChildren(...brand.tokens.map((t) => el("option", { value: t.address }, t.symbol)));
  $("create").addEventListener("click", () => use(toHex(newSecretKey())));
  $("import-form").addEventListener("submit", (e) => { e.preventDefault(); use($("import-key").value); });
  $("reveal").addEventListener("click", () => { $("secret").textContent = toHex(secret); $("secret").hidden = !$("secret").hidden; });
  $("forget").addEventListener("click", forget);
  $("refresh").addEventListener("click", () => refresh().catch((err) => say(err.message, "error")));
  $("send-form").addEventListener("submit", (e) => { e.preventDefault(); send().catch((err) => say(err.message, "error")); });
  const stored = localStorage.getItem(KEY);
  if (stored) use(stored); else show(false);
}

function show(hasKey) {
  $("no-key").hidden = hasKey;
  $("wallet").hidden = !hasKey;
}

function use(hex) {
  try {
    secret = parseSecretKey(hex);
  } catch (err) {
    say(`Cannot use this key: ${err.message}`, "error");
    return;
  }
  localStorage.setItem(KEY, toHex(secret));
  address = addressOf(secret);
  $("address").textContent = address;
  $("import-key").value = "";
  show(true);
  refresh().catch((err) => say(err.message, "error"));
}

function forget() {
  if (!confirm("Forget this wallet? Without its secret key its funds are lost.")) return;
  localStorage.removeItem(KEY);
  secret = address = undefined;
  $("secret").hidden = true;
  show(false);
}

async function refresh() {
  const [balances, history, exitable, exits] = await Promise.all([
    call("account.get_balance", { address }), call("account.get_transactions", { address, limit: 50 }),
    call("account.get_exitable_utxos", { address }), call("exit.all")]);
  $("balances").replaceChildren(table(["Token", "Amount"], balances.map((b) => {
    const t = tokenOf(brand, b.currency);
    return [t.symbol, formatAmount(b.amount, t.decimals)];
  })));
  $("history").replaceChildren(table(["Transaction", "Block", "Change"], history.map((tx) => [
    el("a", { href: `/explorer#/tx/${tx.txhash}` }, short(tx.txhash)), tx.block ? String(tx.block.blknum) : "pending",
    change(tx)])));
  $("exitable").replaceChildren(table(["Position", "Amount", ""], exitable.map((u) => {
    const t = tokenOf(brand, u.currency);
    return [String(u.utxo_pos), `${formatAmount(u.amount, t.decimals)} ${t.symbol}`,
      el("button", { class: "quiet", onclick: () => startExit(u.utxo_pos).catch((err) => say(err.message, "error")) }, "Start exit")];
  })));
  const mine = exits.filter((x) => x.kind === "standard" && x.owner.toLowerCase() === address.toLowerCase());
  $("exits").replaceChildren(table(["Exit", "Position", "Amount", "Status"], mine.map((x) => {
    const t = tokenOf(brand, x.currency);
    return [el("a", { href: "/explorer#/exits" }, String(x.exit_id)), String(x.utxo_pos), `${formatAmount(x.amount, t.decimals)} ${t.symbol}`, x.status];
  })));
}

/** What a transaction did to this address, per token: "+1.5 ETH", "-2 OMG". */
function change(tx) {
  const net = new Map();
  const add = (u, sign) => {
    if (u.owner.toLowerCase() !== address.toLowerCase()) return;
    net.set(u.currency, (net.get(u.currency) ?? 0n) + sign * BigInt(u.amount));
  };
  tx.inputs.forEach((u) => add(u, -1n));
  tx.outputs.forEach((u) => add(u, 1n));
  return [...net].filter(([, v]) => v !== 0n).map(([c, v]) => {
    const t = tokenOf(brand, c);
    return `${v > 0n ? "+" : "-"}${formatAmount(v < 0n ? -v : v, t.decimals)} ${t.symbol}`;
  }).join(", ") || "0";
}

async function send() {
  const to = $("send-to").value.trim(), token = tokenOf(brand, $("send-token").value);
  if (!isAddress(to)) throw new Error("the recipient is not an address (0x and 40 hex digits)");
  const amount = parseAmount($("send-amount").value, token.decimals);
  const fees = await call("fees.all", { tx_types: [1] });
  const listed = fees["1"] ?? [];
  const fee = listed.find((f) => f.currency.toLowerCase() === token.address.toLowerCase()) ?? listed[0];
  say("Asking the node for inputs…");
  const created = await call("transaction.create", {
    owner: address, payments: [{ owner: to, currency: token.address, amount }],
    fee: { currency: fee ? fee.currency : token.address } });
  const [tx] = created.transactions;
  checkPayment(tx, address, to, token.address, amount, fee);
  const digest = signingHash(tx.typed_data);
  const signatures = tx.inputs.map(() => toHex(sign(digest, secret)));
  say("Submitting the signed payment…");
  const placed = await call("transaction.submit_typed", { ...tx.typed_data, signatures });
  say(`Sent: ${placed.txhash} (block ${placed.blknum}, index ${placed.txindex})`, "ok");
  $("send-amount").value = "";
  await refresh();
}

/** Start a standard exit of the output at `pos` from this wallet's address, bond included; the
 * exit is listed once the node has followed the root chain past it. */
async function startExit(pos) {
  const [data, status, sendable] = await Promise.all([
    call("utxo.get_exit_data", { utxo_pos: pos }), call("status.get"), embedded()]);
  const framework = status.contract_addr.plasma_framework;
  if (!sendable) return exitData(framework, data);
  say(`Starting the exit of ${pos} on the root chain…`);
  const started = await startStandardExit(framework, data, address, secret);
  say(`Exit started: exit ${started.exitId} of ${pos}, bond ${formatAmount(started.bond, 18)} ETH, ` +
    `transaction ${started.txHash}. It is listed below once the node follows it.`, "ok");
}

/** The standard exit's data and the root-chain call that starts it, for a wallet of that chain. */
function exitData(framework, data) {
  const pos = data.utxo_pos;
  $("exit-data").textContent = [
    `Start the exit from this wallet's address on the root chain, sending the exit bond as value:`,
    `  PaymentExitGame (PlasmaFramework ${framework} -> exitGames(1))`,
    `    .startStandardExit((utxoPos, rlpOutputTx, outputTxInclusionProof))`,
    `  omg-js: rootChain.startStandardExit({utxoPos, outputTx, inclusionProof, txOptions})`,
    ``, stringify({ utxoPos: data.utxo_pos, rlpOutputTx: data.txbytes, outputTxInclusionProof: data.proof }),
  ].join("\n");
  $("exit-data").hidden = false;
  say(`Exit data for ${pos} below: this node's root chain is not embedded, send the exit from a wallet of that chain.`, "info");
}

start().catch((err) => say(err.message, "error"));
