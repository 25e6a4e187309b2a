// Ethereum from the page: RLP, the ABI words of the one call it makes, EIP-155 signing with the
// wallet's own key, and the node's /eth JSON-RPC. Enough to start a standard exit; no more.
import { keccak_256 } from "./vendor/noble-hashes/sha3.js";
import * as secp from "./vendor/noble-secp256k1/index.js";
import { fromHex, toHex } from "./omg.js"; // also sets noble's hashes for deterministic signing

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const enc = new TextEncoder();

/** A non-negative integer as big-endian bytes, minimal (0 is empty): RLP's and Ethereum's quantities. */
export function intBytes(value) {
  let n = BigInt(value);
  if (n < 0n) throw new Error(`not a quantity: ${value}`);
  const out = [];
  for (; n > 0n; n >>= 8n) out.unshift(Number(n & 0xffn));
  return Uint8Array.from(out);
}

const lengthPrefix = (length, short, long) =>
  (length <= 55 ? Uint8Array.of(short + length) : concat(Uint8Array.of(long + intBytes(length).length), intBytes(length)));

/** RLP of bytes (Uint8Array), integers (BigInt or number: minimal big-endian) and arrays of these. */
export function rlp(item) {
  if (Array.isArray(item)) {
    const payload = concat(...item.map(rlp));
    return concat(lengthPrefix(payload.length, 0xc0, 0xf7), payload);
  }
  const bytes = item instanceof Uint8Array ? item : intBytes(item);
  if (bytes.length === 1 && bytes[0] < 0x80) return bytes;
  return concat(lengthPrefix(bytes.length, 0x80, 0xb7), bytes);
}

/** RLP bytes back to nested arrays of Uint8Array (the explorer reads ORDER and SETTLEMENT txData). */
export function unrlp(bytes) {
  const [item, end] = rlpItem(bytes, 0);
  if (end !== bytes.length) throw new Error("trailing bytes after the RLP item");
  return item;
}

function rlpItem(b, at) {
  const lead = b[at];
  if (lead === undefined) throw new Error("truncated RLP");
  if (lead < 0x80) return [b.subarray(at, at + 1), at + 1];
  const list = lead >= 0xc0, base = list ? 0xc0 : 0x80, short = lead - base <= 55;
  let start = at + 1, length = lead - base;
  if (!short) {
    const n = length - 55;
    length = Number(b.subarray(start, start + n).reduce((v, x) => (v << 8n) | BigInt(x), 0n));
    start += n;
  }
  const end = start + length;
  if (end > b.length) throw new Error("truncated RLP");
  if (!list) return [b.subarray(start, end), end];
  const items = [];
  for (let i = start; i < end;) { const [item, next] = rlpItem(b, i); items.push(item); i = next; }
  return [items, end];
}

const word = (value) => {
  const b = intBytes(value);
  if (b.length > 32) throw new Error(`not a uint256: ${value}`);
  return concat(new Uint8Array(32 - b.length), b);
};

/** ABI encoding of a tuple of uint256 (BigInt) and bytes (Uint8Array) members: heads, then the bytes' tails. */
export function abiTuple(members) {
  const tails = [];
  let at = 32 * members.length;
  const heads = members.map((m) => {
    if (!(m instanceof Uint8Array)) return word(m);
    const tail = concat(word(m.length), m, new Uint8Array((32 - (m.length % 32)) % 32));
    tails.push(tail);
    at += tail.length;
    return word(at - tail.length);
  });
  return concat(...heads, ...tails);
}

export const selector = (signature) => keccak_256(enc.encode(signature)).slice(0, 4);

/** PaymentExitGame.startStandardExit((utxoPos, rlpOutputTx, outputTxInclusionProof)) of plasma-contracts
 * v1.0.4: its one argument is a dynamic tuple, so the call data holds its offset (32) and then the tuple. */
export const startStandardExitData = (utxoPos, txbytes, proof) => concat(
  selector("startStandardExit((uint256,bytes,bytes))"), word(32n), abiTuple([BigInt(utxoPos), fromHex(txbytes), fromHex(proof)]));

/** A legacy transaction signed for `chainId` (EIP-155): the raw bytes eth_sendRawTransaction takes. */
export function signLegacy(tx, secretKey) {
  const fields = [tx.nonce, tx.gasPrice, tx.gas, fromHex(tx.to), tx.value, fromHex(tx.data)].map((f) => (f instanceof Uint8Array ? f : BigInt(f)));
  const digest = keccak_256(rlp([...fields, BigInt(tx.chainId), 0n, 0n]));
  const rec = secp.sign(digest, secretKey, { prehash: false, lowS: true, format: "recovered" }); // recovery || r || s
  const v = BigInt(tx.chainId) * 2n + 35n + BigInt(rec[0]);
  const [r, s] = [rec.slice(1, 33), rec.slice(33, 65)].map((b) => BigInt(toHex(b))); // RLP's minimal integers
  return rlp([...fields, v, r, s]);
}

/** Whether the node serves its embedded root chain at /eth (with --eth-rpc it follows a chain of its own). */
export const embedded = async () => (await (await fetch("/web/chain.json")).json()).embedded;

/** One JSON-RPC call to the node's embedded chain. */
export async function rpc(method, params = []) {
  const answer = await fetch("/eth", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const payload = await answer.json();
  if (payload.error) throw new Error(`${method}: ${payload.error.message}`);
  return payload.result;
}

const callView = async (to, data) => BigInt(await rpc("eth_call", [{ to, data: toHex(data) }, "latest"]));
const PAYMENT_TX_TYPE = 1n;
const EXIT_STARTED = toHex(keccak_256(enc.encode("ExitStarted(address,uint160)")));
const RECEIPT_TRIES = 150, RECEIPT_WAIT_MS = 200;

/** Start a standard exit of `data` (utxo.get_exit_data's answer) from `from`, signed with `secretKey`,
 * paying the exit game's bond; resolves to { exitId, txHash, bond } once mined. */
export async function startStandardExit(framework, data, from, secretKey) {
  const game = "0x" + (await callView(framework, concat(selector("exitGames(uint256)"), word(PAYMENT_TX_TYPE))))
    .toString(16).padStart(40, "0");
  const bond = await callView(game, selector("startStandardExitBondSize()"));
  const call = { from, to: game, value: "0x" + bond.toString(16), data: toHex(startStandardExitData(data.utxo_pos, data.txbytes, data.proof)) };
  const [nonce, gasPrice, gas, chainId] = await Promise.all([
    rpc("eth_getTransactionCount", [from, "pending"]), rpc("eth_gasPrice"), rpc("eth_estimateGas", [call]), rpc("eth_chainId")]);
  const raw = signLegacy({ nonce, gasPrice, gas, to: game, value: bond, data: call.data, chainId }, secretKey);
  const txHash = await rpc("eth_sendRawTransaction", [toHex(raw)]);
  const receipt = await receiptOf(txHash);
  if (BigInt(receipt.status) !== 1n) throw new Error(`the exit transaction ${txHash} reverted`);
  const log = receipt.logs.find((l) => l.address.toLowerCase() === game && l.topics[0] === EXIT_STARTED);
  if (!log) throw new Error(`the exit transaction ${txHash} started no exit`);
  return { exitId: BigInt(log.data), txHash, bond };
}

async function receiptOf(txHash) {
  for (let i = 0; i < RECEIPT_TRIES; i++) {
    const receipt = await rpc("eth_getTransactionReceipt", [txHash]);
    if (receipt) return receipt;
    await new Promise((done) => setTimeout(done, RECEIPT_WAIT_MS));
  }
  throw new Error(`the exit transaction ${txHash} is not mined yet: look it up later`);
}
