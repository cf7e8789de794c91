// The reference side of the tokenizer parity test and benchmark: encodes a UTF-8 file with
// gpt-tokenizer's own JavaScript encoder, special-token text treated as ordinary text.
//
//   node gpt_tokenizer_encode.js PACKAGE_DIR ENCODING IN OUT        ids as little-endian uint32
//   node gpt_tokenizer_encode.js PACKAGE_DIR ENCODING IN --bench R  prints the median MB/s of R runs
'use strict';
const fs = require('fs');
const path = require('path');

const [pkg, encoding, input, out, runs] = process.argv.slice(2);
if (!pkg || !encoding || !input || !out) {
  console.error('usage: gpt_tokenizer_encode.js PACKAGE_DIR ENCODING IN (OUT | --bench RUNS)');
  process.exit(2);
}
const tok = require(path.join(pkg, 'cjs', 'encoding', encoding + '.js'));
const text = fs.readFileSync(input, 'utf8');
const bytes = Buffer.byteLength(text, 'utf8');
const opts = {disallowedSpecial: new Set()};

if (out === '--bench') {
  const n = Number(runs || 3);
  tok.encode(text.slice(0, 100000), opts);  // warm the JIT
  const rates = [];
  for (let i = 0; i < n; i++) {
    tok.clearMergeCache();
    const t0 = process.hrtime.bigint();
    const ids = tok.encode(text, opts);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(bytes / s / 1e6);
    if (ids.length === 0) throw new Error('no ids');
  }
  rates.sort((a, b) => a - b);
  console.log(JSON.stringify({encoding, bytes, mb_per_s: rates[Math.floor(rates.length / 2)]}));
} else {
  const ids = tok.encode(text, opts);
  fs.writeFileSync(out, Buffer.from(Uint32Array.from(ids).buffer));
}
