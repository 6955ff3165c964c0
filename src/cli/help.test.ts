import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS, FLAGS } from './grammar.ts';
import { commandHelp, helpFor, networkCommandsSection, nounHelp } from './help.ts';

test('the N-Net section of --help lists every network command with its usage', () => {
  const section = networkCommandsSection();
  assert.ok(section.startsWith('\nN-Net network commands:\n'));
  for (const line of [
    /\n {2}get \(networks\|subnets\|routers\|clusters\|podnetworks\|pools\) \[NAME\.\.\.\] +Display one or many N-Net resources\n/,
    /\n {2}create subnet NAME --network NETWORK --cidr CIDR +Create a subnet in an N-Net network\n/,
    /\n {2}connect router ROUTER --subnet SUBNET +Join a subnet to a router\n/,
    /\n {2}gc +Delete reserved ports no pod config refers to; with --cni-config, also sweep a node; with --node, release a node that left the cluster\n/,
    /\n {2}version +Print kubenetctl's version, then kubectl's\n/,
    /\n {2}--ip=IP +The pod's static IP address/,
    /\n {2}nnet\.io\/network, nnet\.io\/subnet, nnet\.io\/ip, nnet\.io\/mac, nnet\.io\/security-groups, nnet\.io\/networks\n/,
    /\n {2}--mac=MAC +The pod's MAC address/,
    /\nN-Net configuration \(network commands also take --store, --cluster and --os-cloud\):\n {2}NNET_STORE +/,
  ]) {
    assert.match(section, line);
  }
  for (const row of COMMANDS) assert.ok(section.includes(row.summary), row.id);
});

test('command help is laid out like kubectl’s: summary, examples, options, usage', () => {
  const text = commandHelp(COMMANDS.find((c) => c.id === 'create-subnet')!);
  assert.ok(text.startsWith('Create a subnet in an N-Net network.\n\nExamples:\n  # '));
  assert.match(
    text,
    /\nOptions:\n {4}--allocation-pool=\[\]:\n\tA range Neutron allocates addresses from \(repeatable\)\.\n/,
  );
  assert.match(text, /\n {4}-n, --namespace='':\n/);
  assert.match(text, /\n {4}--no-dhcp=false:\n/);
  assert.match(text, /\n {4}-o, --output='':\n\tOutput format\. One of: \(json, yaml, name\)\.\n/);
  assert.match(
    text,
    /\nUsage:\n {2}kubenetctl create subnet NAME --network NETWORK --cidr CIDR \[options\]\n/,
  );
  for (const flag of COMMANDS.find((c) => c.id === 'create-subnet')!.flags)
    assert.ok(text.includes(`--${FLAGS[flag]!.name}=`), flag);
});

test('help for get with a noun names that noun', () => {
  assert.match(
    helpFor({ command: 'get', noun: 'podnetwork' }),
    /\n {2}kubenetctl get podnetworks \[NAME\.\.\.\] \[options\]\n/,
  );
  assert.match(
    helpFor({ command: 'create-cluster', noun: 'cluster' }),
    /--secret-stdin=false:\n\tRead the password \(or application credential secret\) from stdin\. \(also --password-stdin\)/,
  );
});

test('NOUN --help says what the noun is and lists every command on it with its usage', () => {
  const text = nounHelp('router');
  assert.ok(text.startsWith('Routers: Routers N-Net manages'));
  for (const usage of [
    'kubenetctl get routers [NAME...] [options]',
    'kubenetctl create router NAME [options]',
    'kubenetctl connect router ROUTER --subnet SUBNET [options]',
    'kubenetctl disconnect router ROUTER --subnet SUBNET [options]',
    'kubenetctl delete router NAME [NAME...] [options]',
  ])
    assert.ok(text.includes(`\n  ${usage} `), usage);
  assert.match(text, /\nExamples:\n {2}kubenetctl create router r1\n/);
  assert.equal(helpFor({ command: 'noun', noun: 'cluster' }), nounHelp('cluster'));
});
