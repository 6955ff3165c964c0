/**
 * Uncompressed layer tarballs + image settings → an OCI image layout (a directory) and the same
 * layout as one archive for `podman load` / `ctr images import`. Everything in it is a function of
 * its inputs: layers are gzip'd without a name or time, JSON is written in a fixed key order, the
 * config's dates are SOURCE_DATE_EPOCH, and the archive is a sorted tar with fixed owners and
 * mtimes. The image ID (the config's digest) depends only on the layers' uncompressed bytes and the
 * settings, so the same inputs give the same ID on any machine.
 *
 *   tsx scripts/image/oci.ts --layout DIR --archive FILE --name localhost/nnet:0.1.0 \
 *     --layer base.tar='mmdebstrap …' --layer app.tar='N-Net 0.1.0' --cmd nnet-agent --label k=v …
 * Prints the image ID (sha256:…) on stdout.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

interface Options {
  layout: string;
  archive: string;
  name: string;
  layers: { file: string; createdBy: string }[];
  cmd: string[];
  env: string[];
  labels: Record<string, string>;
  epoch: number;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    layout: '',
    archive: '',
    name: '',
    layers: [],
    cmd: [],
    env: [],
    labels: {},
    epoch: 0,
  };
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (!epoch || !/^\d+$/.test(epoch)) throw new Error('SOURCE_DATE_EPOCH must be set (seconds)');
  o.epoch = Number(epoch);
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const eq = value.indexOf('=');
    if (flag === '--layout') o.layout = value;
    else if (flag === '--archive') o.archive = value;
    else if (flag === '--name') o.name = value;
    else if (flag === '--cmd') o.cmd.push(value);
    else if (flag === '--env') o.env.push(value);
    else if (flag === '--layer' && eq > 0)
      o.layers.push({ file: value.slice(0, eq), createdBy: value.slice(eq + 1) });
    else if (flag === '--label' && eq > 0) o.labels[value.slice(0, eq)] = value.slice(eq + 1);
    else throw new Error(`unknown or malformed ${flag} ${value}`);
  }
  if (!o.layout || !o.archive || !o.name || o.layers.length === 0)
    throw new Error('--layout, --archive, --name and at least one --layer are required');
  return o;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobPath = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice(7));

async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), async (source) => {
    for await (const chunk of source) h.update(chunk as Buffer);
  });
  return `sha256:${h.digest('hex')}`;
}

async function writeBlob(layout: string, bytes: Buffer | string): Promise<Descriptor & { mediaType: '' }> {
  const digest = sha256(bytes);
  await writeFile(blobPath(layout, digest), bytes);
  return { mediaType: '', digest, size: Buffer.byteLength(bytes) };
}

/**
 * The gzip'd layer's descriptor and its uncompressed digest (diff_id). A layer compressed before
 * (same diff_id) is reused: compressing the base layer is the slow part of a rebuild.
 */
async function addLayer(layout: string, file: string): Promise<{ desc: Descriptor; diffId: string }> {
  const diffId = await fileDigest(file);
  const memo = join(layout, 'diffid', diffId.slice(7));
  if (existsSync(memo)) {
    const digest = (await readFile(memo, 'utf8')).trim();
    if (existsSync(blobPath(layout, digest))) {
      const { size } = await stat(blobPath(layout, digest));
      return { desc: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size }, diffId };
    }
  }
  const tmp = join(layout, 'blobs', 'sha256', '.layer.tmp');
  const h = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(file), createGzip({ level: 9 }), tap, createWriteStream(tmp));
  const digest = `sha256:${h.digest('hex')}`;
  await rename(tmp, blobPath(layout, digest));
  await writeFile(memo, `${digest}\n`);
  const { size } = await stat(blobPath(layout, digest));
  return { desc: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size }, diffId };
}

/** Removes blobs (and memos) the current index does not reference. */
async function prune(layout: string, keep: Set<string>): Promise<void> {
  const dir = join(layout, 'blobs', 'sha256');
  for (const name of await readdir(dir)) if (!keep.has(`sha256:${name}`)) await rm(join(dir, name));
  for (const name of await readdir(join(layout, 'diffid'))) {
    const digest = (await readFile(join(layout, 'diffid', name), 'utf8')).trim();
    if (!keep.has(digest)) await rm(join(layout, 'diffid', name));
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const created = new Date(o.epoch * 1000).toISOString().replace('.000Z', 'Z');
  await mkdir(join(o.layout, 'blobs', 'sha256'), { recursive: true });
  await mkdir(join(o.layout, 'diffid'), { recursive: true });
  const layers = [];
  for (const l of o.layers) layers.push(await addLayer(o.layout, l.file));
  const config = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: o.env,
      Cmd: o.cmd,
      WorkingDir: '/',
      Labels: Object.fromEntries(Object.entries(o.labels).sort(([a], [b]) => (a < b ? -1 : 1))),
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: o.layers.map((l) => ({ created, created_by: l.createdBy })),
  };
  const configDesc = {
    ...(await writeBlob(o.layout, JSON.stringify(config))),
    mediaType: 'application/vnd.oci.image.config.v1+json',
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDesc,
    layers: layers.map((l) => l.desc),
  };
  const manifestDesc = {
    ...(await writeBlob(o.layout, JSON.stringify(manifest))),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  };
  const tag = o.name.slice(o.name.lastIndexOf(':') + 1);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        ...manifestDesc,
        // containerd's import reads the first, podman's load the second (a tag, per the OCI spec).
        annotations: { 'io.containerd.image.name': o.name, 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(o.layout, 'index.json'), JSON.stringify(index));
  await writeFile(join(o.layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await prune(
    o.layout,
    new Set([configDesc.digest, manifestDesc.digest, ...layers.map((l) => l.desc.digest)]),
  );
  const tmp = `${o.archive}.tmp`;
  execFileSync('tar', [
    '-C',
    o.layout,
    '--sort=name',
    `--mtime=@${o.epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=go-w',
    '--format=pax',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '-cf',
    tmp,
    'oci-layout',
    'index.json',
    'blobs',
  ]);
  await rename(tmp, o.archive);
  process.stdout.write(`${configDesc.digest}\n`);
}

await main();
