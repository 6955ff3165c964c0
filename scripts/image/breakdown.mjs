// breakdown.mjs ROOTFS: "bytes name" per Debian package in ROOTFS (regular files it owns, as they
// are on disk), biggest first, then "bytes (no package: /DIR/SUB)" for files no package owns.
// Plain JS: it runs before node_modules exist (tsx may not), and on the build host's node.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
const info = join(root, 'var/lib/dpkg/info');
const owned = new Set();
const rows = [];
for (const f of readdirSync(info).filter((n) => n.endsWith('.list'))) {
  let bytes = 0;
  for (const path of readFileSync(join(info, f), 'utf8').split('\n')) {
    if (path === '' || owned.has(path)) continue;
    try {
      const st = lstatSync(join(root, path));
      if (st.isFile()) bytes += st.size;
      owned.add(path);
    } catch {
      // filtered out by a dpkg path-exclude
    }
  }
  rows.push([bytes, f.slice(0, -'.list'.length).replace(/:amd64$/, '')]);
}
const unowned = new Map();
const walk = (dir) => {
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(rel);
    else if (e.isFile() && !owned.has(rel)) {
      const where = rel.split('/').slice(0, 3).join('/');
      unowned.set(where, (unowned.get(where) ?? 0) + lstatSync(join(root, rel)).size);
    }
  }
};
for (const top of readdirSync(root)) if (!['dev', 'proc', 'sys', 'run', 'tmp'].includes(top)) {
  const st = lstatSync(join(root, top));
  if (st.isDirectory()) walk(`/${top}`);
}
for (const [where, bytes] of unowned) rows.push([bytes, `(no package: ${where})`]);
rows.sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : 1));
for (const [bytes, name] of rows) console.log(`${bytes} ${name}`);
