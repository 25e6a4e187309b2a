// The node's JSON API (POST, OMG's envelope) with amounts kept exact: integers past 2^53
// are read as BigInt and written back as JSON numbers.
export class ApiError extends Error {
  constructor(code, description) {
    super(description ? `${code}: ${description}` : code);
    this.code = code;
  }
}

// Browsers without the reviver's source text or JSON.rawJSON (both in Chrome 114+, Firefox
// 135+) get long integers quoted with a mark, and the mark taken off after.
const MARK = "@@bigint:";
const LONG_INTEGER = /([:,[]\s*)(\d{16,})(?=\s*[,}\]])/g;
const HAS_SOURCE = (() => {
  let seen = false;
  JSON.parse("1", (key, value, context) => { seen = context?.source === "1"; return value; });
  return seen;
})();
const HAS_RAW = typeof JSON.rawJSON === "function";

const fromSource = (key, value, context) =>
  typeof value === "number" && !Number.isSafeInteger(value) && /^\d+$/.test(context.source) ? BigInt(context.source) : value;
const unmark = (key, value) => (typeof value === "string" && value.startsWith(MARK) ? BigInt(value.slice(MARK.length)) : value);

export const parseQuoted = (text) => JSON.parse(text.replace(LONG_INTEGER, `$1"${MARK}$2"`), unmark);
export const stringifyMarked = (value) => JSON.stringify(value, (key, v) => (typeof v === "bigint" ? `${MARK}${v}` : v))
  .replace(new RegExp(`"${MARK}(\\d+)"`, "g"), "$1");

export const parse = (text) => (HAS_SOURCE ? JSON.parse(text, fromSource) : parseQuoted(text));
export const stringify = (value) => (HAS_RAW
  ? JSON.stringify(value, (key, v) => (typeof v === "bigint" ? JSON.rawJSON(v.toString()) : v)) : stringifyMarked(value));

export async function call(route, body = {}) {
  const answer = await fetch(`/${route}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: stringify(body),
  });
  const payload = parse(await answer.text());
  if (!payload.success) throw new ApiError(payload.data?.code ?? `http_${answer.status}`, payload.data?.description);
  return payload.data;
}

/** The brand: name, logo, colours and listed tokens, applied to the page. */
export async function applyBrand() {
  const answer = await fetch("/web/brand.json");
  const brand = await answer.json();
  if (!answer.ok) throw new ApiError(brand.code, brand.description);
  const root = document.documentElement.style;
  for (const [name, value] of Object.entries(brand.colours)) root.setProperty(`--${name}`, value);
  for (const el of document.querySelectorAll("[data-brand-name]")) el.textContent = brand.name;
  for (const el of document.querySelectorAll("[data-brand-tagline]")) el.textContent = brand.tagline;
  const logo = document.querySelector("[data-brand-logo]");
  if (logo && brand.logo) { logo.src = brand.logo; logo.hidden = false; }
  return brand;
}

const ZERO = "0x0000000000000000000000000000000000000000";

/** A token's symbol and decimals from the brand (an unlisted token: its address, 0 decimals). */
export function tokenOf(brand, currency) {
  const found = brand.tokens.find((t) => t.address.toLowerCase() === String(currency).toLowerCase());
  return found ?? { symbol: currency === ZERO ? "ETH" : short(currency), address: currency, decimals: 0 };
}

export function formatAmount(amount, decimals) {
  const n = BigInt(amount), unit = 10n ** BigInt(decimals);
  if (decimals === 0) return n.toString();
  const frac = (n % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return frac ? `${n / unit}.${frac}` : `${n / unit}`;
}

/** "1.5" in a token of 18 decimals -> 1500000000000000000n; exact, or an Error. */
export function parseAmount(text, decimals) {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m || (m[2] && m[2].length > decimals)) throw new Error(`not an amount with at most ${decimals} decimals`);
  const value = BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt((m[2] ?? "").padEnd(decimals, "0") || "0");
  if (value <= 0n) throw new Error("the amount must be positive");
  return value;
}

export const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : String(hex));

/** A DOM element: el("td", {class: "x"}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

export function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))
      : [el("tr", {}, el("td", { colspan: String(headers.length), class: "empty" }, "none"))]));
}
