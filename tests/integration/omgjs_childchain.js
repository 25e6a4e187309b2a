// Call omg-js 4.1.2-1.0.4's ChildChain (against `omg node --http`) or RootChain (against the
// node's root chain) once and print the answer as JSON. Used by test_omgjs_childchain.py; the
// packages come from `make omgjs` (.tools/omgjs, on NODE_PATH).
//
//   node omgjs_childchain.js '{"watcher": URL, "rpc": URL, "plasma": ADDRESS,
//                              "client": "childchain" | "rootchain" | "flow", "method": NAME,
//                              "args": [...] or {...}, "from": ADDRESS, "privateKey": HEX}'
//
// RootChain calls with "from" sign locally with privateKey, as a wallet using omg-js does.
// The "flow" client runs what a wallet runs in one process, so nothing crosses JSON between
// omg-js's own steps:
//   transferTyped {owner, payments, fee, privateKey}: createTransaction, signTypedData, submitTyped
//   sendTransaction {...}: getUtxos of fromAddress, then sendTransaction with them (omg-js builds
//     the typed data, signs it and submits the RLP bytes with submitTransaction)
'use strict'

const BN = require('bn.js')
const Web3 = require('web3')
const ChildChain = require('@omisego/omg-js-childchain')
const RootChain = require('@omisego/omg-js-rootchain')

const GAS = 3000000
const GAS_PRICE = '2000000000' // above anvil's base fee; omg-js sends legacy transactions

const flows = {
  async transferTyped (childChain, { owner, payments, fee, privateKey }) {
    const created = await childChain.createTransaction({ owner, payments, fee })
    const typedData = childChain.signTypedData(created.transactions[0], [privateKey])
    return childChain.submitTyped(typedData)
  },
  async sendTransaction (childChain, args) {
    const fromUtxos = await childChain.getUtxos(args.fromAddress)
    return childChain.sendTransaction({ ...args, fromUtxos })
  }
}

async function main () {
  const request = JSON.parse(process.argv[2])
  const childChain = new ChildChain({ watcherUrl: request.watcher, plasmaContractAddress: request.plasma })
  const args = request.args || {}
  let answer
  if (request.client === 'flow') {
    answer = await flows[request.method](childChain, args)
  } else if (request.client === 'childchain') {
    answer = await call(childChain, request.method, args)
  } else {
    const rootChain = new RootChain({ web3: new Web3(request.rpc), plasmaContractAddress: request.plasma })
    const txOptions = { from: request.from, privateKey: request.privateKey, gas: GAS, gasPrice: GAS_PRICE }
    answer = await call(rootChain, request.method, request.from ? { ...args, txOptions } : args)
  }
  process.stdout.write(JSON.stringify(plain(answer === undefined ? null : answer)))
}

// BN (omg-js parses large JSON numbers into BN, whose toJSON is hex) and BigInt as decimal strings
function plain (value) {
  if (BN.isBN(value) || typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(plain)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  return value
}

function call (client, method, args) {
  return Array.isArray(args) ? client[method](...args) : client[method](args)
}

main().catch(error => {
  process.stderr.write(String(error && error.stack ? error.stack : error))
  process.exit(1)
})
