// OMG's payment transaction in the browser: EIP-712 signing exactly as proofs/eip712.py and
// the root chain's PaymentEip712Lib hash it, keys and addresses. No key ever leaves the page.
import { keccak_256 } from "./vendor/noble-hashes/sha3.js";
import { hmac } from "./vendor/noble-hashes/hmac.js";
import { sha256 } from "./vendor/noble-hashes/sha2.js";
import * as secp from "./vendor/noble-secp256k1/index.js";

// Deterministic (RFC 6979) signing needs HMAC-SHA256 without WebCrypto, which a page served
// over plain HTTP from a non-loopback host does not have.
secp.hashes.sha256 = sha256;
secp.hashes.hmacSha256 = (key, msg) => hmac(sha256, key, msg);

const enc = new TextEncoder();
export const OUTPUT_TYPE_PAYMENT = 1n;
export const TX_TYPE_PAYMENT = 1n;
const BLOCK_OFFSET = 1000000000n, TX_OFFSET = 10000n;

export const toHex = (bytes) => "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
export function fromHex(hex) {
  if (typeof hex !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex: ${hex}`);
  return Uint8Array.from(hex.slice(2).match(/../g) || [], (h) => parseInt(h, 16));
}
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const keccak = (...parts) => keccak_256(concat(...parts));
const word = (value) => {
  const n = BigInt(value);
  if (n < 0n || n >= 1n << 256n) throw new Error(`not a uint256: ${value}`);
  return fromHex("0x" + n.toString(16).padStart(64, "0"));
};
const fixed = (hex, size) => {
  const b = fromHex(hex);
  if (b.length !== size) throw new Error(`${hex} is not ${size} bytes`);
  return b;
};
const addressWord = (hex) => concat(new Uint8Array(12), fixed(hex, 20)); // left-padded
const bytes20Word = (hex) => concat(fixed(hex, 20), new Uint8Array(12)); // right-padded

const typeHash = (s) => keccak(enc.encode(s));
const DOMAIN_TYPE = typeHash("EIP712Domain(string name,string version,address verifyingContract,bytes32 salt)");
const INPUT = "Input(uint256 blknum,uint256 txindex,uint256 oindex)";
const OUTPUT = "Output(uint256 outputType,bytes20 outputGuard,address currency,uint256 amount)";
const INPUT_TYPE = typeHash(INPUT), OUTPUT_TYPE = typeHash(OUTPUT);
const TX_TYPE = typeHash("Transaction(uint256 txType,Input input0,Input input1,Input input2,Input input3," +
  "Output output0,Output output1,Output output2,Output output3,uint256 txData,bytes32 metadata)" + INPUT + OUTPUT);

const ORDER_TYPE = typeHash("Order(address owner,address sellToken,address buyToken,uint256 sellAmount," +
  "uint256 buyAmount,uint256 expiry,uint256 nonce)");

/** An order's id: hashStruct(Order) of its terms as signed (proofs.order.order_id). */
export const orderId = (o) => toHex(keccak(ORDER_TYPE, addressWord(o.owner), addressWord(o.sellToken), addressWord(o.buyToken),
  word(o.sellAmount), word(o.buyAmount), word(o.expiry), word(o.nonce)));

export function domainSeparator(domain) {
  return keccak(DOMAIN_TYPE, keccak(enc.encode(domain.name)), keccak(enc.encode(domain.version)),
    addressWord(domain.verifyingContract), fixed(domain.salt, 32));
}

const hashInput = (i) => keccak(INPUT_TYPE, word(i.blknum), word(i.txindex), word(i.oindex));
// An empty slot (amount 0) is the all-zero struct, output type included.
const hashOutput = (o) => keccak(OUTPUT_TYPE, word(BigInt(o.amount) === 0n ? 0n : OUTPUT_TYPE_PAYMENT),
  bytes20Word(o.owner), addressWord(o.currency), word(o.amount));

/** The digest every input owner signs, from the typed data `transaction.create` returns. */
export function signingHash(typed) {
  const m = typed.message;
  const struct = keccak(TX_TYPE, word(TX_TYPE_PAYMENT),
    ...[0, 1, 2, 3].map((i) => hashInput(m[`input${i}`])), ...[0, 1, 2, 3].map((i) => hashOutput(m[`output${i}`])),
    word(0n), fixed(m.metadata, 32));
  return keccak(Uint8Array.of(0x19, 0x01), domainSeparator(typed.domain), struct);
}

/** 65 bytes r || s || v, v in {27, 28}, low s: what the ledger and the root chain recover. */
export function sign(digest, secretKey) {
  const rec = secp.sign(digest, secretKey, { prehash: false, lowS: true, format: "recovered" });
  return concat(rec.slice(1, 65), Uint8Array.of(rec[0] + 27));
}

export function addressOf(secretKey) {
  const pub = secp.getPublicKey(secretKey, false); // 0x04 || x || y
  return toHex(keccak(pub.slice(1)).slice(12));
}

export const newSecretKey = () => secp.utils.randomSecretKey();

export function parseSecretKey(hex) {
  const key = fixed(hex.trim().startsWith("0x") ? hex.trim() : "0x" + hex.trim(), 32);
  if (!secp.utils.isValidSecretKey(key)) throw new Error("not a secp256k1 secret key");
  return key;
}

export const isAddress = (s) => /^0x[0-9a-fA-F]{40}$/.test(s);

export function splitPos(pos) {
  const p = BigInt(pos);
  return { blknum: p / BLOCK_OFFSET, txindex: (p % BLOCK_OFFSET) / TX_OFFSET, oindex: p % TX_OFFSET };
}

/** Sign only what was asked: the digest is ours, every output pays the recipient or comes
 * back to `address`, the recipient gets exactly the amount, and only the quoted fee is left over. */
export function checkPayment(tx, address, to, currency, amount, fee) {
  if (toHex(signingHash(tx.typed_data)) !== tx.sign_hash.toLowerCase()) throw new Error("the node's sign hash is not this transaction's");
  const m = tx.typed_data.message, net = new Map();
  let paid = 0n;
  for (const i of [0, 1, 2, 3]) {  // the inputs signed are the inputs shown, whose amounts are counted below
    const u = tx.inputs[i] ?? { blknum: 0, txindex: 0, oindex: 0 }, s = m[`input${i}`];
    if (["blknum", "txindex", "oindex"].some((k) => BigInt(s[k]) !== BigInt(u[k]))) throw new Error(`input ${i} is not the output shown`);
  }
  for (const u of tx.inputs) {
    if (u.owner.toLowerCase() !== address.toLowerCase()) throw new Error("an input is not this wallet's");
    net.set(u.currency.toLowerCase(), (net.get(u.currency.toLowerCase()) ?? 0n) + BigInt(u.amount));
  }
  for (const i of [0, 1, 2, 3]) {
    const o = m[`output${i}`], value = BigInt(o.amount), c = o.currency.toLowerCase();
    if (value === 0n) continue;
    const owner = o.owner.toLowerCase();
    if (owner === to.toLowerCase() && c === currency.toLowerCase()) paid += value;
    else if (owner !== address.toLowerCase()) throw new Error(`output ${i} pays ${o.owner}, not asked`);
    net.set(c, (net.get(c) ?? 0n) - value);
  }
  if (paid !== amount) throw new Error(`the transaction pays ${paid}, not ${amount}`);
  for (const [c, left] of net) {
    const due = fee && fee.currency.toLowerCase() === c ? BigInt(fee.amount) : 0n;
    if (left !== due) throw new Error(`the transaction leaves ${left} of ${c} to the operator, the fee is ${due}`);
  }
}
