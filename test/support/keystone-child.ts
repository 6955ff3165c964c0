/**
 * A separate process making one authenticated Neutron call, as a CNI plugin invocation would.
 * Input (env): NNT_CREDS_FILE (clouds.yaml), NNT_CLOUD, NNT_CACHE_DIR, NNT_USER_AGENT.
 * Output (stdout, one JSON line): { status, source, issued, tokenDigest } - a digest, never the token.
 */
import { createHash } from 'node:crypto';
import { createSession, loadCredentials } from '../../src/identity/index.ts';

const creds = loadCredentials({ file: process.env.NNT_CREDS_FILE, cloud: process.env.NNT_CLOUD, env: {} });
const session = createSession(creds, {
  cacheDir: process.env.NNT_CACHE_DIR ?? null,
  userAgent: process.env.NNT_USER_AGENT,
});
const neutron = await session.endpoint('network');
const res = await session.request(`${neutron}/v2.0/networks?limit=1`);
await res.arrayBuffer();
const token = await session.token();
process.stdout.write(
  `${JSON.stringify({
    status: res.status,
    source: session.source,
    issued: session.issued,
    tokenDigest: createHash('sha256').update(token).digest('hex').slice(0, 16),
  })}\n`,
);
