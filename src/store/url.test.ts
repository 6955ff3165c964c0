import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { DEFAULT_STORE_URL, parseStoreUrl } from './url.ts';

test('sqlite URLs give an absolute, normalized path', () => {
  assert.deepEqual(parseStoreUrl(DEFAULT_STORE_URL), { backend: 'sqlite', path: '/var/lib/nnet/nnet.db' });
  assert.deepEqual(parseStoreUrl('sqlite:///var/lib/nnet/../nnet/x.db'), {
    backend: 'sqlite',
    path: '/var/lib/nnet/x.db',
  });
});

test('etcd URLs give the endpoints in order and the prefix, /nnet by default', () => {
  assert.deepEqual(parseStoreUrl('etcd:http://127.0.0.1:2379'), {
    backend: 'etcd',
    endpoints: ['http://127.0.0.1:2379'],
    prefix: '/nnet',
  });
  assert.deepEqual(parseStoreUrl('etcd:http://10.0.0.1:2379/,https://etcd.example:2379?prefix=/k8s/nnet'), {
    backend: 'etcd',
    endpoints: ['http://10.0.0.1:2379', 'https://etcd.example:2379'],
    prefix: '/k8s/nnet',
  });
});

test('bad store URLs fail with InputError invalid-config saying what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['sqlite:relative/nnet.db', /absolute/],
    ['sqlite:/var/lib/nnet/', /directory/],
    ['etcd:', /not a URL/],
    ['etcd:ftp://h:1', /http/],
    ['etcd:http://h:2379/v3', /scheme:\/\/host:port/],
    ['etcd:http://h:2379?prefix=nnet', /prefix/],
    ['etcd:http://h:2379?prefix=/nnet/', /prefix/],
    ['etcd:http://h:2379?timeout=3', /unknown parameter "timeout"/],
    ['postgres://db', /expected sqlite:/],
  ];
  for (const [url, why] of cases)
    assert.throws(
      () => parseStoreUrl(url),
      (e: unknown) => e instanceof InputError && e.reason === 'invalid-config' && why.test(e.message),
      url,
    );
});

test('an etcd URL with a password is refused without repeating it', () => {
  assert.throws(
    () => parseStoreUrl('etcd:http://root:pa55word@h:2379'),
    (e: unknown) => e instanceof InputError && !e.message.includes('pa55word'),
  );
});

test('etcd URLs name TLS files and auth files, never secrets', () => {
  assert.deepEqual(
    parseStoreUrl(
      'etcd:https://10.0.0.1:2379,https://10.0.0.2:2379?prefix=/nnet&cacert=/etc/nnet/ca.pem&cert=/etc/nnet/c.pem&key=/etc/nnet/k.pem&user=nnet&password-file=/etc/nnet/etcd.password',
    ),
    {
      backend: 'etcd',
      endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
      prefix: '/nnet',
      tls: { caFile: '/etc/nnet/ca.pem', certFile: '/etc/nnet/c.pem', keyFile: '/etc/nnet/k.pem' },
      auth: { user: 'nnet', passwordFile: '/etc/nnet/etcd.password' },
    },
  );
  const withToken = parseStoreUrl('etcd:https://h:2379?token-file=/etc/nnet/etcd.token');
  assert.deepEqual(withToken.backend === 'etcd' && withToken.auth, {
    tokenFile: '/etc/nnet/etcd.token',
  });
  const cases: [string, RegExp][] = [
    ['etcd:https://h:2379?user=nnet', /without password-file/],
    ['etcd:https://h:2379?password-file=/p', /without user/],
    ['etcd:https://h:2379?user=nnet&password-file=p', /absolute file path/],
    ['etcd:https://h:2379?token-file=/t&user=nnet', /token-file excludes/],
    ['etcd:https://h:2379?cert=/c.pem', /cert is given without key/],
    ['etcd:http://h:2379?cacert=/ca.pem', /need https:\/\/ endpoints/],
    ['etcd:https://h:2379?prefix=/a&prefix=/b', /given twice/],
  ];
  for (const [url, why] of cases)
    assert.throws(
      () => parseStoreUrl(url),
      (e: unknown) => e instanceof InputError && e.reason === 'invalid-config' && why.test(e.message),
      url,
    );
});

test('a password or token in the store URL is refused, and no parameter value is repeated', () => {
  for (const url of [
    'etcd:https://h:2379?user=nnet&password=hunter2-LE',
    'etcd:https://h:2379?token=hunter2-LE',
    'etcd:https://h:2379?secret=hunter2-LE',
  ])
    assert.throws(
      () => parseStoreUrl(url),
      (e: unknown) => e instanceof InputError && !e.message.includes('hunter2') && /\?…/.test(e.message),
      url,
    );
  assert.throws(() => parseStoreUrl('etcd:https://h:2379?password=x'), /password-file=\/path/);
});
