'use strict';
// Cross-check of transactions built by the Rust `mvs` crate:
//  1. metaversejs 0.3.98 decodes each raw transaction, computes the same txid, re-encodes
//     it to the same bytes and decodes the outputs the crate says it built;
//  2. every input's signature is verified with @noble/secp256k1 (pure JS, independent of
//     libsecp256k1 used by the crate and of the secp256k1/elliptic packages metaversejs
//     uses) over a SIGHASH_ALL preimage serialized by metaversejs' own encoder.
// Usage: node crosscheck.js FILE.json   (FILE as printed by `cargo run -p mvs --example crosscheck_txs`)
// Prints a JSON report; exits 1 if anything does not match.

const fs = require('fs');
const crypto = require('crypto');
const Metaverse = require('metaversejs');
const secp = require('@noble/secp256k1');
const bs58check = require('bs58check');

const sha256 = (b) => crypto.createHash('sha256').update(b).digest();
const sha256d = (b) => sha256(sha256(b));
// JSON with object keys sorted, so field order does not matter.
const canonical = (v) => JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x))
    ? Object.keys(x).sort().reduce((o, key) => { o[key] = x[key]; return o; }, {}) : x);
const hash160 = (b) => crypto.createHash('ripemd160').update(sha256(b)).digest();

function pushesOf(script) {
    // metaversejs prints a push-only script as "[ hex ] [ hex ]".
    const m = script.match(/^\[ ([0-9a-f]+) \] \[ ([0-9a-f]+) \]$/);
    if (!m) throw new Error('scriptSig is not <sig> <pubkey>: ' + script);
    return [Buffer.from(m[1], 'hex'), Buffer.from(m[2], 'hex')];
}

// metaversejs' decoder takes the secondary-issue flag (+128) off the threshold byte and
// reports it as is_secondaryissue, but its encoder writes the threshold field as it finds
// it: only its builder (Output.setAssetIssue) adds the 128. Put the flag back the way the
// builder does before re-encoding a decoded transaction.
function asBuilt(tx) {
    tx.outputs.forEach((output) => {
        const a = output.attachment;
        if (a && a.is_secondaryissue === 1) a.secondaryissue_threshold += 128;
    });
    return tx;
}

function checkTransaction(t) {
    const failures = [];
    // metaversejs takes the network by name ('mainnet' | 'testnet') when decoding.
    const network = t.network;
    const decoded = Metaverse.transaction.decode(t.raw_hex, network);

    const txid = Metaverse.transaction.calculateTxid(t.raw_hex).toString('hex');
    if (txid !== t.txid) failures.push(`txid ${txid} != ${t.txid}`);

    // Re-encode with metaversejs (input scripts back to chunks).
    const again = asBuilt(Metaverse.transaction.decode(t.raw_hex, network));
    again.inputs.forEach((input) => { input.script = pushesOf(input.script); });
    const reencoded = again.encode().toString('hex');
    if (reencoded !== t.raw_hex) failures.push('metaversejs re-encoding differs');

    if (canonical(decoded.outputs) !== canonical(t.expected_outputs)) {
        failures.push('outputs decoded by metaversejs differ: ' + JSON.stringify(decoded.outputs));
    }
    if (decoded.inputs.length !== t.prevouts.length) failures.push('input count differs from prevouts');

    let verified = 0;
    decoded.inputs.forEach((input, i) => {
        const prev = t.prevouts[i];
        if (input.previous_output.hash !== prev.txid || input.previous_output.index !== prev.index) {
            failures.push(`input ${i} spends ${input.previous_output.hash}:${input.previous_output.index}, expected ${prev.txid}:${prev.index}`);
            return;
        }
        const [sigWithType, pubkey] = pushesOf(input.script);
        if (sigWithType[sigWithType.length - 1] !== 1) failures.push(`input ${i}: sighash type is not ALL`);
        const der = sigWithType.subarray(0, sigWithType.length - 1);
        const ownerHash = Buffer.from(bs58check.decode(prev.address)).subarray(1);
        if (!hash160(pubkey).equals(ownerHash)) failures.push(`input ${i}: public key does not hash to ${prev.address}`);

        // SIGHASH_ALL preimage by metaversejs: input i carries the spent P2PKH script, others empty.
        const signing = asBuilt(Metaverse.transaction.decode(t.raw_hex, network));
        signing.inputs.forEach((inp, j) => { inp.previous_output.address = t.prevouts[j].address; });
        const preimage = Buffer.concat([signing.encode(i), Buffer.from([1, 0, 0, 0])]);
        const digest = sha256d(preimage);
        // strict: reject high-S, as MVS nodes do.
        const ok = secp.verify(der.toString('hex'), digest.toString('hex'), pubkey.toString('hex'), { strict: true });
        if (!ok) failures.push(`input ${i}: signature does not verify`);
        // Control: the same check must fail for a different digest, or it proves nothing.
        const tampered = Buffer.from(digest);
        tampered[0] ^= 1;
        if (secp.verify(der.toString('hex'), tampered.toString('hex'), pubkey.toString('hex'), { strict: true })) {
            failures.push(`input ${i}: verification accepted a wrong digest`);
        }
        if (ok) verified += 1;
    });
    return { name: t.name, txid, inputs_verified: verified, failures };
}

const file = process.argv[2];
if (!file) {
    console.error('usage: node crosscheck.js FILE.json');
    process.exit(2);
}
const input = JSON.parse(fs.readFileSync(file, 'utf8'));
const results = input.transactions.map((t) => {
    try {
        return checkTransaction(t);
    } catch (e) {
        return { name: t.name, inputs_verified: 0, failures: ['exception: ' + (e && e.stack || e)] };
    }
});
const ok = results.length > 0 && results.every((r) => r.failures.length === 0);
console.log(JSON.stringify({ ok, transactions: results.length, inputs_verified: results.reduce((a, r) => a + r.inputs_verified, 0), results }, null, 2));
process.exit(ok ? 0 : 1);
