// lookup: resolves names with Node, for tests/e2e/test_resolver_matrix.py. Same output as
// lookup.c: "NAME ok ADDR...", "NAME notfound" or "NAME error TEXT", one line per name.
//   node lookup.js lookup NAME...    dns.lookup(all: true): getaddrinfo, with the search path
//   node lookup.js resolve NAME...   dns.resolve4 and dns.resolve6: c-ares, the name as given
'use strict';
const dns = require('dns').promises;

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA']);

async function viaLookup(name) {
  const list = await dns.lookup(name, {all: true, verbatim: true});
  return list.map((a) => a.address);
}

async function viaResolve(name) {
  const out = [];
  let notFound = 0;
  for (const family of ['resolve4', 'resolve6']) {
    try {
      out.push(...await dns[family](name));
    } catch (e) {
      if (!NOT_FOUND.has(e.code)) throw e;
      notFound++;
    }
  }
  if (notFound === 2) {
    const e = new Error('not found');
    e.code = 'ENOTFOUND';
    throw e;
  }
  return out;
}

async function main() {
  const [mode, ...names] = process.argv.slice(2);
  const resolve = mode === 'resolve' ? viaResolve : viaLookup;
  for (const name of names) {
    try {
      const addrs = [...new Set(await resolve(name))];
      console.log(`${name} ok ${addrs.join(' ')}`);
    } catch (e) {
      if (NOT_FOUND.has(e.code)) console.log(`${name} notfound`);
      else console.log(`${name} error ${e.code || e.message}`);
    }
  }
}

main();
