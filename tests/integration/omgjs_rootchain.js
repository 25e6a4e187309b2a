// Call one method of omg-js 4.1.2-1.0.4's RootChain against a node and print its answer as JSON.
// Used by test_omgjs_on_anvil.py; the packages come from `make omgjs` (.tools/omgjs, on NODE_PATH).
//
//   node omgjs_rootchain.js '{"rpc": URL, "plasma": ADDRESS, "method": NAME,
//                             "args": {...} or [...], "from": ADDRESS, "privateKey": HEX}'
//
// With "from", the call's txOptions sign with privateKey locally, as a wallet using omg-js does.
// An argument given as {"BN": "<decimal>"} is passed as a BN (omg-js takes a 160-bit exit id so:
// as a number it would lose bits, and its hex conversion misreads a decimal string).
'use strict'

const BN = require('bn.js')
const Web3 = require('web3')
const RootChain = require('@omisego/omg-js-rootchain')

const GAS = 3000000
const GAS_PRICE = '2000000000' // above anvil's base fee; omg-js sends legacy transactions

async function main () {
  const request = JSON.parse(process.argv[2])
  const web3 = new Web3(request.rpc)
  const rootChain = new RootChain({ web3, plasmaContractAddress: request.plasma })
  let args = revive(request.args || {})
  if (request.from) {
    args = { ...args, txOptions: { from: request.from, privateKey: request.privateKey, gas: GAS, gasPrice: GAS_PRICE } }
  }
  const answer = Array.isArray(args) ? await rootChain[request.method](...args) : await rootChain[request.method](args)
  process.stdout.write(JSON.stringify(answer, printable))
}

// BigInt values print as decimal strings (BN ones already do); a decoded struct, an array that
// web3 also gives named fields, prints as an object of those fields, as a wallet reads it.
function printable (_, value) {
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) {
    const names = Object.keys(value).filter(k => !/^\d+$/.test(k) && k !== '__length__')
    if (names.length) return Object.fromEntries(names.map(name => [name, value[name]]))
  }
  return value
}

function revive (value) {
  if (Array.isArray(value)) return value.map(revive)
  if (value && typeof value === 'object') {
    if (Object.keys(value).length === 1 && typeof value.BN === 'string') return new BN(value.BN, 10)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]))
  }
  return value
}

main().catch(error => {
  process.stderr.write(String(error && error.stack ? error.stack : error))
  process.exit(1)
})
