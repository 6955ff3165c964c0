import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { COMMANDS, NOUN_WORDS } from './grammar.ts';
import { parseCommandLine } from './parse.ts';
import type { NetworkCommand, ParsedCommandLine } from './types.ts';

interface Case {
  name: string;
  argv: string[];
  native: string[] | null;
  network: NetworkCommand | null;
}

// One or more cases per row of the command table (table.ts), each with its expected result
// written out by hand.
const NETWORK_COMMANDS: Case[] = [
  {
    name: 'set cluster NAME --pool-min changes the pool settings (kubectl has no "set cluster")',
    argv: ['set', 'cluster', 'prod', '--pool-min', '8', '--pool-batch=4'],
    native: null,
    network: { kind: 'set-cluster', name: 'prod', pool: { min: 8, batch: 4 }, scope: {} },
  },
  {
    name: 'create cluster with --pool-min/--pool-max/--pool-batch',
    argv: ['create', 'cluster', 'prod', '--pool-min', '4', '--pool-max', '16', '--pool-batch', '4'],
    native: null,
    network: {
      kind: 'create-cluster',
      name: 'prod',
      credentials: { from: 'env' },
      pool: { min: 4, max: 16, batch: 4 },
      scope: {},
    },
  },
  {
    name: 'get pools -o wide: every node pool',
    argv: ['get', 'pools', '-o', 'wide'],
    native: null,
    network: { kind: 'get', noun: 'pool', names: [], output: 'wide', scope: {} },
  },
  {
    name: "kubectl set image stays kubectl's",
    argv: ['set', 'image', 'deployment/web', 'web=nginx:1.27'],
    native: ['set', 'image', 'deployment/web', 'web=nginx:1.27'],
    network: null,
  },
  {
    name: 'get networks lists N-Net networks in a table',
    argv: ['get', 'networks'],
    native: null,
    network: { kind: 'get', noun: 'network', names: [], output: 'table', scope: {} },
  },
  {
    name: 'get net NAME -o wide --cluster takes the short noun, a name, wide output and the cluster',
    argv: ['get', 'net', 'pods-net', '-o', 'wide', '--cluster', 'prod'],
    native: null,
    network: {
      kind: 'get',
      noun: 'network',
      names: ['pods-net'],
      output: 'wide',
      scope: { cluster: 'prod' },
    },
  },
  {
    name: 'get subnet/a subnet/b -ojson reads TYPE/NAME arguments and a glued short flag',
    argv: ['get', 'subnet/a', 'subnet/b', '-ojson'],
    native: null,
    network: { kind: 'get', noun: 'subnet', names: ['a', 'b'], output: 'json', scope: {} },
  },
  {
    name: 'get -o=name routers accepts a flag before the noun',
    argv: ['get', '-o=name', 'routers'],
    native: null,
    network: { kind: 'get', noun: 'router', names: [], output: 'name', scope: {} },
  },
  {
    name: 'get clusters -o yaml',
    argv: ['get', 'clusters', '-o', 'yaml'],
    native: null,
    network: { kind: 'get', noun: 'cluster', names: [], output: 'yaml', scope: {} },
  },
  {
    name: 'get podnetworks -A lists pod networks across namespaces',
    argv: ['get', 'podnetworks', '-A'],
    native: null,
    network: { kind: 'get', noun: 'podnetwork', names: [], output: 'table', scope: { allNamespaces: true } },
  },
  {
    name: 'get podnet NAME -n NS reads the namespace',
    argv: ['get', 'podnet', 'pod1', '-n', 'team-a'],
    native: null,
    network: {
      kind: 'get',
      noun: 'podnetwork',
      names: ['pod1'],
      output: 'table',
      scope: { namespace: 'team-a' },
    },
  },
  {
    name: 'kubectl global flags before the verb select context and verbosity of a network command',
    argv: ['--context', 'kind', '-v', '3', 'get', 'networks', '--kubeconfig', '/tmp/k'],
    native: null,
    network: {
      kind: 'get',
      noun: 'network',
      names: [],
      output: 'table',
      scope: { kubeContext: 'kind', verbosity: 3, kubeconfig: '/tmp/k' },
    },
  },
  {
    name: 'describe network NAME',
    argv: ['describe', 'network', 'pods'],
    native: null,
    network: { kind: 'describe', noun: 'network', names: ['pods'], scope: {} },
  },
  {
    name: 'describe podnetwork NAME -n NS',
    argv: ['describe', 'podnetwork', 'pod1', '--namespace=team-a'],
    native: null,
    network: { kind: 'describe', noun: 'podnetwork', names: ['pod1'], scope: { namespace: 'team-a' } },
  },
  {
    name: 'delete subnets by name in a cluster',
    argv: ['delete', 'subnet', 's1', 's2', '--cluster', 'prod'],
    native: null,
    network: { kind: 'delete', noun: 'subnet', names: ['s1', 's2'], scope: { cluster: 'prod' } },
  },
  {
    name: 'create network with MTU and description',
    argv: ['create', 'network', 'pods', '--mtu', '1450', '--description', 'pod network'],
    native: null,
    network: { kind: 'create-network', name: 'pods', mtu: 1450, description: 'pod network', scope: {} },
  },
  {
    name: 'create subnet with gateway, repeated allocation pools and DNS, no DHCP',
    argv: [
      'create',
      'subnet',
      'pods-a',
      '--network',
      'pods',
      '--cidr',
      '1.2.0.0/16',
      '--gateway',
      '1.2.0.1',
      '--allocation-pool',
      '1.2.0.10-1.2.0.200',
      '--allocation-pool=1.2.1.0-1.2.1.255',
      '--dns',
      '8.8.8.8',
      '--dns=1.1.1.1',
      '--no-dhcp',
      '-o',
      'yaml',
    ],
    native: null,
    network: {
      kind: 'create-subnet',
      name: 'pods-a',
      network: 'pods',
      cidr: '1.2.0.0/16',
      ipVersion: 4,
      gateway: '1.2.0.1',
      allocationPools: [
        { start: '1.2.0.10', end: '1.2.0.200' },
        { start: '1.2.1.0', end: '1.2.1.255' },
      ],
      dns: ['8.8.8.8', '1.1.1.1'],
      dhcp: false,
      output: 'yaml',
      scope: {},
    },
  },
  {
    name: 'create subnet IPv6 without gateway',
    argv: ['create', 'subnet', 'v6', '--network=pods', '--cidr=FD00:0::/64', '--no-gateway'],
    native: null,
    network: {
      kind: 'create-subnet',
      name: 'v6',
      network: 'pods',
      cidr: 'fd00::/64',
      ipVersion: 6,
      gateway: null,
      allocationPools: [],
      dns: [],
      dhcp: true,
      scope: {},
    },
  },
  {
    name: 'create subnet --ip-version 6 --ipv6-address-mode: the mode is N-Net’s, the version must match the CIDR',
    argv: [
      'create',
      'subnet',
      'v6',
      '--network',
      'pods',
      '--cidr',
      'fd00:1::/64',
      '--ip-version',
      '6',
      '--ipv6-address-mode',
      'dhcpv6-stateful',
    ],
    native: null,
    network: {
      kind: 'create-subnet',
      name: 'v6',
      network: 'pods',
      cidr: 'fd00:1::/64',
      ipVersion: 6,
      ipv6AddressMode: 'dhcpv6-stateful',
      allocationPools: [],
      dns: [],
      dhcp: true,
      scope: {},
    },
  },
  {
    name: 'create subnet --ip-version 4 on an IPv4 range',
    argv: ['create', 'subnet', 'a', '--network', 'pods', '--cidr', '1.2.0.0/16', '--ip-version=4'],
    native: null,
    network: {
      kind: 'create-subnet',
      name: 'a',
      network: 'pods',
      cidr: '1.2.0.0/16',
      ipVersion: 4,
      allocationPools: [],
      dns: [],
      dhcp: true,
      scope: {},
    },
  },
  {
    name: 'create router with an external network',
    argv: ['create', 'router', 'r1', '--external-network', 'public'],
    native: null,
    network: { kind: 'create-router', name: 'r1', externalNetwork: 'public', scope: {} },
  },
  {
    name: 'create cluster from a clouds.yaml entry',
    argv: [
      'create',
      'cluster',
      'prod',
      '--cloud',
      'admin',
      '--clouds-file',
      '/etc/nnet/clouds.yaml',
      '--default-network',
      'pods',
    ],
    native: null,
    network: {
      kind: 'create-cluster',
      name: 'prod',
      credentials: { from: 'clouds-yaml', cloud: 'admin', cloudsFile: '/etc/nnet/clouds.yaml' },
      defaultNetwork: 'pods',
      scope: {},
    },
  },
  {
    name: 'create cluster --node-credentials names the file every node reads, --migrate-credentials an existing cluster',
    argv: [
      'create',
      'cluster',
      'prod',
      '--node-credentials',
      '/etc/nnet/clouds.yaml',
      '--node-cloud',
      'k8s',
      '--migrate-credentials',
    ],
    native: null,
    network: {
      kind: 'create-cluster',
      name: 'prod',
      credentials: { from: 'env' },
      nodeCredentials: { path: '/etc/nnet/clouds.yaml', cloud: 'k8s' },
      migrateCredentials: true,
      scope: {},
    },
  },
  {
    name: 'create cluster with no credential flags takes the OS_* variables',
    argv: ['create', 'cluster', 'prod'],
    native: null,
    network: { kind: 'create-cluster', name: 'prod', credentials: { from: 'env' }, scope: {} },
  },
  {
    name: 'create cluster with explicit flags reads the password from stdin',
    argv: [
      'create',
      'cluster',
      'prod',
      '--auth-url',
      'http://127.0.0.1:5000/v3',
      '--username',
      'k8s',
      '--project',
      'k8s-project',
      '--secret-stdin',
      '--region',
      'RegionOne',
      '--interface',
      'internal',
    ],
    native: null,
    network: {
      kind: 'create-cluster',
      name: 'prod',
      credentials: {
        from: 'flags',
        authUrl: 'http://127.0.0.1:5000/v3',
        username: 'k8s',
        project: 'k8s-project',
        secret: { from: 'stdin' },
      },
      region: 'RegionOne',
      interface: 'internal',
      scope: {},
    },
  },
  {
    name: 'create cluster with an application credential takes its secret from a file',
    argv: [
      'create',
      'cluster',
      'prod',
      '--auth-url=https://keystone.example/v3',
      '--application-credential-id',
      'ac-1',
      '--secret-file',
      '/etc/nnet/secret',
    ],
    native: null,
    network: {
      kind: 'create-cluster',
      name: 'prod',
      credentials: {
        from: 'flags',
        authUrl: 'https://keystone.example/v3',
        applicationCredentialId: 'ac-1',
        secret: { from: 'file', path: '/etc/nnet/secret' },
      },
      scope: {},
    },
  },
  {
    name: 'create cluster accepts --password-stdin as the alias of --secret-stdin',
    argv: [
      'create',
      'cluster',
      'prod',
      '--auth-url',
      'http://ks/v3',
      '--username',
      'u',
      '--project',
      'p',
      '--password-stdin',
    ],
    native: null,
    network: {
      kind: 'create-cluster',
      name: 'prod',
      credentials: {
        from: 'flags',
        authUrl: 'http://ks/v3',
        username: 'u',
        project: 'p',
        secret: { from: 'stdin' },
      },
      scope: {},
    },
  },
  {
    name: 'create podnetwork reserves a pod network ahead of the pod',
    argv: ['create', 'podnetwork', 'pod1', '-n', 'team-a', '--subnet', '1.2.0.0/16', '--ip', '1.2.0.100'],
    native: null,
    network: {
      kind: 'create-podnetwork',
      pod: 'pod1',
      namespace: 'team-a',
      subnet: '1.2.0.0/16',
      ips: ['1.2.0.100'],
      scope: {},
    },
  },
  {
    name: 'create podnetwork --ip twice: one static IP per family, IPv4 first, canonical',
    argv: ['create', 'podnetwork', 'pod1', '--network', 'pods', '--ip', 'FD00:1:0::100', '--ip', '1.2.0.100'],
    native: null,
    network: {
      kind: 'create-podnetwork',
      pod: 'pod1',
      network: 'pods',
      ips: ['1.2.0.100', 'fd00:1::100'],
      scope: {},
    },
  },
  {
    name: 'create podnetwork --security-group, repeated and as a list: each group once, in order',
    argv: [
      'create',
      'podnetwork',
      'web1',
      '--security-group',
      'web,ssh',
      '--security-group=web',
      '--security-group',
      'db',
    ],
    native: null,
    network: {
      kind: 'create-podnetwork',
      pod: 'web1',
      ips: [],
      securityGroups: ['web', 'ssh', 'db'],
      scope: {},
    },
  },
  {
    name: 'create podnetwork --network twice: eth0 on the first, net1 on the second with its static IP',
    argv: [
      'create',
      'podnetwork',
      'db1',
      '--network',
      'pods',
      '--ip',
      '1.2.0.9',
      '--network',
      'storage@10.77.0.50',
    ],
    native: null,
    network: {
      kind: 'create-podnetwork',
      pod: 'db1',
      network: 'pods',
      ips: ['1.2.0.9'],
      extraNics: [{ network: 'storage', ips: ['10.77.0.50'] }],
      scope: {},
    },
  },
  {
    name: 'set podnetwork POD --security-group changes the groups of a pod (kubectl has no "set podnetwork")',
    argv: ['set', 'podnetwork', 'web1', '-n', 'team-a', '--security-group', 'web'],
    native: null,
    network: { kind: 'set-podnetwork', pod: 'web1', namespace: 'team-a', securityGroups: ['web'], scope: {} },
  },
  {
    name: 'set cluster --security-group sets the groups of pods that choose none',
    argv: ['set', 'cluster', 'prod', '--security-group', 'pods-default'],
    native: null,
    network: { kind: 'set-cluster', name: 'prod', securityGroups: ['pods-default'], scope: {} },
  },
  {
    name: 'create podnetwork --mac takes a MAC, lowercased with colons',
    argv: ['create', 'podnetwork', 'pod2', '--network', 'pods', '--mac', 'FA-16-3E-00-00-02'],
    native: null,
    network: {
      kind: 'create-podnetwork',
      pod: 'pod2',
      network: 'pods',
      ips: [],
      mac: 'fa:16:3e:00:00:02',
      scope: {},
    },
  },
  {
    name: 'get networks --all --store --os-cloud: every Neutron network, a store URL and the user’s cloud',
    argv: ['get', 'networks', '--all', '--store', 'sqlite:/tmp/n.db', '--os-cloud=lab'],
    native: null,
    network: {
      kind: 'get',
      noun: 'network',
      names: [],
      output: 'table',
      all: true,
      scope: { store: 'sqlite:/tmp/n.db', osCloud: 'lab' },
    },
  },
  {
    name: 'delete podnetwork --force releases a bound reservation',
    argv: ['delete', 'podnetwork', 'pod1', '-n', 'team-a', '--force'],
    native: null,
    network: {
      kind: 'delete',
      noun: 'podnetwork',
      names: ['pod1'],
      force: true,
      scope: { namespace: 'team-a' },
    },
  },
  {
    name: 'NOUN --help is the help about that noun (kubectl has no such command)',
    argv: ['podnetworks', '--help'],
    native: null,
    network: { kind: 'help', topic: { command: 'noun', noun: 'podnetwork' } },
  },
  {
    name: 'help NOUN is the same help',
    argv: ['help', 'net'],
    native: null,
    network: { kind: 'help', topic: { command: 'noun', noun: 'network' } },
  },
  {
    name: 'connect router R --subnet S joins a subnet to a router',
    argv: ['connect', 'router', 'r1', '--subnet', 'pods-a'],
    native: null,
    network: { kind: 'connect-router', router: 'r1', subnet: 'pods-a', scope: {} },
  },
  {
    name: 'disconnect router R --subnet=CIDR',
    argv: ['disconnect', 'router', 'r1', '--subnet=192.168.10.0/24'],
    native: null,
    network: { kind: 'disconnect-router', router: 'r1', subnet: '192.168.10.0/24', scope: {} },
  },
  {
    name: 'gc',
    argv: ['gc'],
    native: null,
    network: { kind: 'gc', dryRun: false, scope: {} },
  },
  {
    name: 'gc --dry-run --cluster',
    argv: ['gc', '--dry-run', '--cluster', 'prod'],
    native: null,
    network: { kind: 'gc', dryRun: true, scope: { cluster: 'prod' } },
  },
];

const MIXED: Case[] = [
  {
    name: 'run with --subnet=/--ip= gives kubectl the rest and N-Net the pod network (-n shared)',
    argv: ['run', 'pod1', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.100', '-n', 'team-a'],
    native: ['run', 'pod1', '--image=nginx', '-n', 'team-a'],
    network: { kind: 'pod', namespace: 'team-a', pod: 'pod1', subnet: '1.2.0.0/16', ips: ['1.2.0.100'] },
  },
  {
    name: 'run with --security-group: N-Net takes the groups, kubectl the rest',
    argv: ['run', 'web1', '--image=nginx', '--security-group', 'web', '--security-group=ssh'],
    native: ['run', 'web1', '--image=nginx'],
    network: { kind: 'pod', pod: 'web1', ips: [], securityGroups: ['web', 'ssh'] },
  },
  {
    name: 'run with --mac: N-Net takes the MAC, kubectl the rest',
    argv: ['run', 'pod1', '--image=nginx', '--mac', 'fa:16:3e:aa:bb:cc'],
    native: ['run', 'pod1', '--image=nginx'],
    network: { kind: 'pod', pod: 'pod1', ips: [], mac: 'fa:16:3e:aa:bb:cc' },
  },
  {
    name: 'run with space-separated values; everything after -- is kubectl’s',
    argv: [
      'run',
      'pod1',
      '--image',
      'nginx',
      '--subnet',
      '1.2.0.0/16',
      '--ip',
      '1.2.0.100',
      '--',
      'sh',
      '-c',
      'echo --ip=9',
    ],
    native: ['run', 'pod1', '--image', 'nginx', '--', 'sh', '-c', 'echo --ip=9'],
    network: { kind: 'pod', pod: 'pod1', subnet: '1.2.0.0/16', ips: ['1.2.0.100'] },
  },
  {
    name: 'run keeps kubectl global and local flags in order, -it cluster, --rm noted',
    argv: [
      '--context',
      'prod',
      '-v',
      '6',
      'run',
      'pod1',
      '--kubeconfig',
      '/k',
      '--image=nginx',
      '--network',
      'pods',
      '-it',
      '--rm',
      '--restart=Never',
    ],
    native: [
      '--context',
      'prod',
      '-v',
      '6',
      'run',
      'pod1',
      '--kubeconfig',
      '/k',
      '--image=nginx',
      '-it',
      '--rm',
      '--restart=Never',
    ],
    network: { kind: 'pod', pod: 'pod1', network: 'pods', ips: [], rm: true },
  },
  {
    name: 'run finds the pod name after a value flag (--image nginx POD)',
    argv: ['run', '--image', 'nginx', 'pod1', '--ip', '10.0.0.5'],
    native: ['run', '--image', 'nginx', 'pod1'],
    network: { kind: 'pod', pod: 'pod1', ips: ['10.0.0.5'] },
  },
  {
    name: 'run reads a glued -nNS and keeps it for kubectl',
    argv: ['run', 'pod1', '--image=nginx', '-nteam-a', '--ip=10.0.0.5'],
    native: ['run', 'pod1', '--image=nginx', '-nteam-a'],
    network: { kind: 'pod', pod: 'pod1', namespace: 'team-a', ips: ['10.0.0.5'] },
  },
  {
    name: 'run with --dry-run=client validates but marks the request dry',
    argv: [
      'run',
      'pod1',
      '--image=nginx',
      '--namespace=team-a',
      '--dry-run=client',
      '--ip',
      '1.2.0.100',
      '--subnet',
      '1.2.0.0/16',
    ],
    native: ['run', 'pod1', '--image=nginx', '--namespace=team-a', '--dry-run=client'],
    network: {
      kind: 'pod',
      pod: 'pod1',
      namespace: 'team-a',
      subnet: '1.2.0.0/16',
      ips: ['1.2.0.100'],
      dryRun: true,
    },
  },
  {
    name: 'run with IPv6 canonicalises the subnet and IP',
    argv: ['run', 'pod1', '--image=x', '--subnet', 'FD00::/64', '--ip', 'fd00:0:0:0::0064'],
    native: ['run', 'pod1', '--image=x'],
    network: { kind: 'pod', pod: 'pod1', subnet: 'fd00::/64', ips: ['fd00::64'] },
  },
  {
    name: 'run with --ip twice (IPv4 and IPv6): both are N-Net’s, kubectl gets the rest',
    argv: ['run', 'pod1', '--image=x', '--ip', '1.2.0.100', '--subnet=1.2.0.0/16', '--ip=fd00:1::100'],
    native: ['run', 'pod1', '--image=x'],
    network: { kind: 'pod', pod: 'pod1', subnet: '1.2.0.0/16', ips: ['1.2.0.100', 'fd00:1::100'] },
  },
  {
    name: 'run --ip A,B (pflag’s list form) is the same as --ip A --ip B',
    argv: ['run', 'pod1', '--image=x', '--ip', 'fd00:1::100, 1.2.0.100'],
    native: ['run', 'pod1', '--image=x'],
    network: { kind: 'pod', pod: 'pod1', ips: ['1.2.0.100', 'fd00:1::100'] },
  },
  {
    name: 'run with an IPv6 subnet and an IPv4 IP: the IP is checked against a subnet of its own family later',
    argv: ['run', 'pod1', '--image=x', '--subnet', 'fd00::/64', '--ip', '1.2.0.5'],
    native: ['run', 'pod1', '--image=x'],
    network: { kind: 'pod', pod: 'pod1', subnet: 'fd00::/64', ips: ['1.2.0.5'] },
  },
  {
    name: 'run without N-Net flags is kubectl’s alone',
    argv: ['run', 'pod1', '--image=nginx', '-n', 'team-a'],
    native: ['run', 'pod1', '--image=nginx', '-n', 'team-a'],
    network: null,
  },
  {
    name: 'delete pod NAME -n NS passes through and releases the pod after',
    argv: ['delete', 'pod', 'pod1', '-n', 'team-a'],
    native: ['delete', 'pod', 'pod1', '-n', 'team-a'],
    network: { kind: 'release-pod', pods: ['pod1'], namespace: 'team-a' },
  },
  {
    name: 'delete pods A B releases both',
    argv: ['delete', 'pods', 'a', 'b'],
    native: ['delete', 'pods', 'a', 'b'],
    network: { kind: 'release-pod', pods: ['a', 'b'] },
  },
  {
    name: 'delete po/a svc/b pod/c releases only the pods',
    argv: ['delete', 'po/a', 'svc/b', 'pod/c'],
    native: ['delete', 'po/a', 'svc/b', 'pod/c'],
    network: { kind: 'release-pod', pods: ['a', 'c'] },
  },
  {
    name: 'delete pods,svc NAME releases the pod of that name',
    argv: ['delete', 'pods,svc', 'web'],
    native: ['delete', 'pods,svc', 'web'],
    network: { kind: 'release-pod', pods: ['web'] },
  },
  {
    name: 'delete pod --dry-run=client releases nothing',
    argv: ['delete', 'pod', 'a', '--dry-run=client'],
    native: ['delete', 'pod', 'a', '--dry-run=client'],
    network: null,
  },
  {
    name: 'delete pods --all names no pod (gc releases them)',
    argv: ['delete', 'pods', '--all'],
    native: ['delete', 'pods', '--all'],
    network: null,
  },
  {
    name: 'delete deployment is kubectl’s alone',
    argv: ['delete', 'deployment', 'web'],
    native: ['delete', 'deployment', 'web'],
    network: null,
  },
  {
    name: 'apply -f FILE reads the file’s pod annotations; kubectl gets the line unchanged',
    argv: ['apply', '-f', 'pod.yaml'],
    native: ['apply', '-f', 'pod.yaml'],
    network: {
      kind: 'pod-manifests',
      action: 'reserve',
      sources: [{ kind: 'file', path: 'pod.yaml' }],
      recursive: false,
    },
  },
  {
    name: 'create -f - -f a,URL -R -n --dry-run=server: stdin, files, URLs, recursion, namespace, dry run',
    argv: [
      'create',
      '-f',
      '-',
      '--filename=a.yaml,https://example.com/b.yaml',
      '-R',
      '-n',
      'ns',
      '--dry-run=server',
    ],
    native: [
      'create',
      '-f',
      '-',
      '--filename=a.yaml,https://example.com/b.yaml',
      '-R',
      '-n',
      'ns',
      '--dry-run=server',
    ],
    network: {
      kind: 'pod-manifests',
      action: 'reserve',
      sources: [
        { kind: 'stdin' },
        { kind: 'file', path: 'a.yaml' },
        { kind: 'url', url: 'https://example.com/b.yaml' },
      ],
      recursive: true,
      namespace: 'ns',
      dryRun: true,
    },
  },
  {
    name: 'delete -f FILE releases the file’s pods after kubectl',
    argv: ['delete', '-f', 'pod.yaml'],
    native: ['delete', '-f', 'pod.yaml'],
    network: {
      kind: 'pod-manifests',
      action: 'release',
      sources: [{ kind: 'file', path: 'pod.yaml' }],
      recursive: false,
    },
  },
];

const OWN_COMMANDS: Case[] = [
  { name: 'version', argv: ['version'], native: ['version'], network: { kind: 'version' } },
  {
    name: 'version --client -o json merges both versions as JSON',
    argv: ['version', '--client', '-o', 'json'],
    native: ['version', '--client', '-o', 'json'],
    network: { kind: 'version', output: 'json' },
  },
  {
    name: 'version --output=yaml',
    argv: ['version', '--output=yaml'],
    native: ['version', '--output=yaml'],
    network: { kind: 'version', output: 'yaml' },
  },
  {
    name: 'version -o foo is left to kubectl to reject',
    argv: ['version', '-o', 'foo'],
    native: ['version', '-o', 'foo'],
    network: null,
  },
  {
    name: 'version --help is kubectl’s',
    argv: ['version', '--help'],
    native: ['version', '--help'],
    network: null,
  },
  { name: 'no arguments shows the help', argv: [], native: [], network: { kind: 'help' } },
  {
    name: '--help shows kubectl’s help plus N-Net’s',
    argv: ['--help'],
    native: ['--help'],
    network: { kind: 'help' },
  },
  { name: '-h too', argv: ['-h'], native: ['-h'], network: { kind: 'help' } },
  { name: 'help too', argv: ['help'], native: ['help'], network: { kind: 'help' } },
  {
    name: 'help get networks is N-Net’s',
    argv: ['help', 'get', 'networks'],
    native: null,
    network: { kind: 'help', topic: { command: 'get', noun: 'network' } },
  },
  {
    name: 'help connect',
    argv: ['help', 'connect'],
    native: null,
    network: { kind: 'help', topic: { command: 'connect-router' } },
  },
  {
    name: 'help get pods is kubectl’s',
    argv: ['help', 'get', 'pods'],
    native: ['help', 'get', 'pods'],
    network: null,
  },
  {
    name: 'get networks --help',
    argv: ['get', 'networks', '--help'],
    native: null,
    network: { kind: 'help', topic: { command: 'get', noun: 'network' } },
  },
  {
    name: 'create subnet -h needs none of the required flags',
    argv: ['create', 'subnet', '-h'],
    native: null,
    network: { kind: 'help', topic: { command: 'create-subnet', noun: 'subnet' } },
  },
  {
    name: 'gc --help',
    argv: ['gc', '--help'],
    native: null,
    network: { kind: 'help', topic: { command: 'gc' } },
  },
];

const PASSTHROUGH: string[][] = [
  ['get', 'pods', '-o', 'wide'],
  ['get', 'pods', '--cluster', 'kind-kind'],
  ['logs', '-f', 'pod1'],
  ['exec', '-it', 'pod1', '--', 'ip', 'addr'],
  ['--context', 'x', 'get', 'networks.config.openshift.io'],
  ['create', 'deployment', 'web', '--image=nginx'],
  ['apply', 'view-last-applied', 'pod/x'],
  ['apply', '-k', 'overlays/prod'],
  ['get', '--help'],
  ['config', 'view'],
  ['--kubeconfig', '/k', 'describe', 'node', 'n1'],
  ['foo'],
];

function check(c: Case): void {
  const expected: ParsedCommandLine = { native: c.native, network: c.network };
  assert.deepStrictEqual(parseCommandLine(c.argv), expected);
}

for (const c of [...NETWORK_COMMANDS, ...MIXED, ...OWN_COMMANDS]) test(c.name, () => check(c));

for (const argv of PASSTHROUGH) {
  test(`"${argv.join(' ')}" goes to kubectl unchanged`, () => {
    assert.deepStrictEqual(parseCommandLine(argv), { native: argv, network: null });
  });
}

test('every row of the command table has a case', () => {
  const covered = new Set<string | undefined>(NETWORK_COMMANDS.map((c) => c.network?.kind));
  for (const row of COMMANDS) assert.ok(covered.has(row.id), `no case for row ${row.id}`);
});

test('every noun word is recognised (get WORD)', () => {
  for (const [word, noun] of Object.entries(NOUN_WORDS)) {
    const parsed = parseCommandLine(['get', word]);
    assert.deepStrictEqual(
      parsed.network,
      { kind: 'get', noun, names: [], output: 'table', scope: {} },
      word,
    );
  }
});

test('the parser does not modify its input', () => {
  const argv = ['run', 'pod1', '--image=nginx', '--ip=1.2.0.100'];
  const copy = [...argv];
  parseCommandLine(argv);
  assert.deepStrictEqual(argv, copy);
});

const BAD: [argv: string[], message: RegExp][] = [
  [
    ['set', 'cluster', 'prod'],
    /nothing to set: give --pool-min, --pool-max, --pool-batch, --default-network, --default-subnet or --security-group/,
  ],
  [
    ['set', 'cluster', 'prod', '--pool-min', '9', '--pool-max', '3'],
    /--pool-min 9 is more than --pool-max 3/,
  ],
  [['set', 'cluster', 'prod', '--pool-batch', '0'], /pool-batch.*between 1 and 64/],
  [
    ['create', 'podnetwork', 'db1', '--network', 'a', '--ip', '1.2.0.9', '--network', 'b@1.2.0.9'],
    /1\.2\.0\.9 is asked for eth0 already: two NICs cannot have the same IP/,
  ],
  [
    ['create', 'podnetwork', 'db1', ...Array.from({ length: 9 }, (_, i) => ['--network', `n${i}`]).flat()],
    /9 NICs; a pod may have at most 8/,
  ],
  [['run', 'db1', '--image=x', '--network', 'a', '--network', 'b@not-an-ip'], /--network.*the IP after @/],
  [['describe', 'pools'], /describe takes one of: .*; not pool/],
  [
    ['run', 'pod1', '--image=x', '--ip', '1.2.0.300'],
    /^invalid argument "1\.2\.0\.300" for "--ip" flag: not a valid IP address$/,
  ],
  [
    ['run', 'pod1', '--image=x', '--subnet', '1.2.0.0/16', '--ip', '1.3.0.1'],
    /"--ip" flag: is not inside 1\.2\.0\.0\/16$/,
  ],
  [
    ['run', 'pod1', '--image=x', '--subnet', '1.2.0.0/16', '--ip', '1.2.0.0'],
    /is the network address of 1\.2\.0\.0\/16/,
  ],
  [
    ['run', 'pod1', '--image=x', '--subnet', '1.2.0.0/16', '--ip', '1.2.255.255'],
    /is the broadcast address of 1\.2\.0\.0\/16/,
  ],
  [
    ['run', 'pod1', '--image=x', '--subnet', 'fd00:1::/64', '--ip', 'fd00:2::5'],
    /^invalid argument "fd00:2::5" for "--ip" flag: is not inside fd00:1::\/64$/,
  ],
  [
    ['run', 'pod1', '--image=x', '--subnet', 'fd00:1::/64', '--ip', 'fd00:1::'],
    /^invalid argument "fd00:1::" for "--ip" flag: is the subnet-router anycast address of fd00:1::\/64$/,
  ],
  [
    ['run', 'pod1', '--image=x', '--ip', '1.2.0.100', '--ip', 'fd00:1::1::2'],
    /^invalid argument "fd00:1::1::2" for "--ip" flag: not a valid IPv6 address$/,
  ],
  [
    ['run', 'pod1', '--image=x', '--ip', 'fd00:1::100', '--ip', 'fd00:1::101'],
    /^invalid argument "fd00:1::101" for "--ip" flag: two IPv6 addresses \(fd00:1::100 and fd00:1::101\) for one NIC; give at most one per family$/,
  ],
  [['run', 'pod1', '--image=x', '--ip', '1.2.0.100,'], /"--ip" flag: an empty entry in the list of IPs/],
  [
    ['create', 'podnetwork', 'pod1', '--network', 'n', '--ip', '1.2.0.5', '--ip', '1.2.0.6'],
    /"--ip" flag: two IPv4 addresses \(1\.2\.0\.5 and 1\.2\.0\.6\) for one NIC/,
  ],
  [
    ['create', 'podnetwork', 'pod1', '--subnet', 'fd00:1::/64', '--ip', '1.2.0.5', '--ip', 'fd00:1::'],
    /"--ip" flag: is the subnet-router anycast address of fd00:1::\/64/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', '1.2.0.0/16', '--ip-version', '6'],
    /^invalid argument "6" for "--ip-version" flag: the range 1\.2\.0\.0\/16 is IPv4$/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', 'fd00::/64', '--ip-version', '5'],
    /"--ip-version" flag: must be 4 or 6/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', '1.2.0.0/16', '--ipv6-address-mode', 'slaac'],
    /^invalid argument "slaac" for "--ipv6-address-mode" flag: 1\.2\.0\.0\/16 is an IPv4 range/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', 'fd00::/64', '--ipv6-address-mode', 'dhcp'],
    /"--ipv6-address-mode" flag: must be dhcpv6-stateful, dhcpv6-stateless, slaac/,
  ],
  [
    ['run', 'pod1', '--image=x', '--subnet', '1.2.0.0/33'],
    /"--subnet" flag: prefix length 33 is longer than 32/,
  ],
  [
    ['run', 'pod1', '--image=x', '--subnet', '1.2.3.4/16'],
    /host bits are set \(did you mean 1\.2\.0\.0\/16\?\)/,
  ],
  [['run', 'pod1', '--image=x', '--ip', '01.2.0.5'], /not a valid IP address/],
  [['run', 'Pod_1', '--image=x', '--ip', '1.2.0.5'], /^invalid pod name "Pod_1"/],
  [['run', '--image=x', '--ip', '1.2.0.5'], /^NAME is required for run$/],
  [['run', 'pod1', '--image=x', '--ip'], /^flag needs an argument: --ip$/],
  [
    ['run', 'pod1', '--ip', '1.2.0.5', '--ip=1.2.0.6'],
    /^invalid argument "1\.2\.0\.6" for "--ip" flag: two IPv4 addresses \(1\.2\.0\.5 and 1\.2\.0\.6\) for one NIC/,
  ],
  [['run', 'pod1', '--subnet', 'a', '--subnet=b'], /^flag --subnet may be given only once$/],
  [['run', 'pod1', '--ip', '1.2.0.5', '-n', 'Team_A'], /"--namespace" flag/],
  [['run', 'pod1', '--network', 'a b'], /"--network" flag: must not contain whitespace/],
  [
    ['get', 'networks', '--bogus'],
    /^unknown flag: --bogus\nSee 'kubenetctl get networks --help' for usage\.$/,
  ],
  [['get', 'networks', '-z'], /^unknown shorthand flag: 'z' in -z/],
  [
    ['get', 'networks', '-o', 'jsonpath={}'],
    /^unable to match a printer suitable for the output format "jsonpath=\{\}", allowed formats are: json,name,wide,yaml/,
  ],
  [['get', 'networks', '-o'], /^flag needs an argument: 'o' in -o$/],
  [['get', 'networks', '-A=yes'], /"--all-namespaces" flag: must be true or false/],
  [['describe', 'networks', '-o', 'json'], /^unknown shorthand flag: 'o' in -o/],
  [['create', 'subnet', 's', '--network', 'n'], /^required flag "--cidr" not set/],
  [['create', 'subnet', '--network', 'n', '--cidr', '1.2.0.0/16'], /^exactly one NAME is required, got 0/],
  [
    ['create', 'subnet', 's', 't', '--network', 'n', '--cidr', '1.2.0.0/16'],
    /^exactly one NAME is required, got 2/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', '1.2.0.0/16', '--gateway', '1.3.0.1'],
    /"--gateway" flag: is not inside/,
  ],
  [
    [
      'create',
      'subnet',
      's',
      '--network',
      'n',
      '--cidr',
      '1.2.0.0/16',
      '--allocation-pool',
      '1.2.0.200-1.2.0.10',
    ],
    /START is after END/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', '1.2.0.0/16', '--allocation-pool', '1.2.0.10'],
    /expected START-END/,
  ],
  [
    [
      'create',
      'subnet',
      's',
      '--network',
      'n',
      '--cidr',
      '1.2.0.0/16',
      '--allocation-pool',
      '1.2.0.10-1.2.0.20',
      '--allocation-pool',
      '1.2.0.15-1.2.0.30',
    ],
    /overlaps 1\.2\.0\.10-1\.2\.0\.20/,
  ],
  [
    [
      'create',
      'subnet',
      's',
      '--network',
      'n',
      '--cidr',
      '1.2.0.0/16',
      '--gateway',
      '1.2.0.15',
      '--allocation-pool',
      '1.2.0.10-1.2.0.20',
    ],
    /contains the gateway 1\.2\.0\.15/,
  ],
  [
    [
      'create',
      'subnet',
      's',
      '--network',
      'n',
      '--cidr',
      '1.2.0.0/16',
      '--gateway',
      '1.2.0.1',
      '--no-gateway',
    ],
    /cannot be used together/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', '1.2.0.0/16', '--dns', '8.8.8'],
    /"--dns" flag: not a valid IP/,
  ],
  [
    ['create', 'subnet', 's', '--network', 'n', '--cidr', '1.2.0.0/16', '--cidr', '1.3.0.0/16'],
    /may be given only once/,
  ],
  [['create', 'network', 'n', '--mtu', '10'], /"--mtu" flag: must be between 68 and 65535/],
  [['create', 'network', 'n', '--mtu', '1.5'], /"--mtu" flag: not an integer/],
  [
    ['create', 'cluster', 'prod', '--cloud', 'a', '--auth-url', 'http://x/v3'],
    /cannot be combined with --auth-url/,
  ],
  [
    ['create', 'cluster', 'prod', '--auth-url', 'http://x/v3', '--username', 'u', '--project', 'p'],
    /needs a secret/,
  ],
  [
    ['create', 'cluster', 'prod', '--auth-url', 'http://x/v3', '--secret-stdin'],
    /needs --username and --project/,
  ],
  [
    [
      'create',
      'cluster',
      'prod',
      '--auth-url',
      'ftp://x/v3',
      '--secret-stdin',
      '--application-credential-id',
      'a',
    ],
    /must be an http or https URL/,
  ],
  [['create', 'cluster', 'prod', '--username', 'u'], /^--username needs --auth-url/],
  [['create', 'cluster', 'prod', '--clouds-file', '/c.yaml'], /--clouds-file needs --cloud/],
  [
    ['create', 'cluster', 'prod', '--node-credentials', 'c.yaml'],
    /"--node-credentials" flag: must be an absolute path/,
  ],
  [['create', 'cluster', 'prod', '--node-cloud', 'k8s'], /--node-cloud needs --node-credentials/],
  [
    ['create', 'cluster', 'prod', '--migrate-credentials', '--default-network', 'pods'],
    /--migrate-credentials changes only the credentials; it cannot take --default-network/,
  ],
  [['create', 'cluster', 'prod', '--interface', 'private'], /must be public, internal or admin/],
  [['create', 'cluster', 'Prod_1'], /^invalid cluster name "Prod_1"/],
  [['create', 'cluster', 'prod', '--cluster', 'x'], /^unknown flag: --cluster/],
  [['create', 'podnetwork', 'pod1', '-n', 'team-a'], /give at least one of --network, --subnet, --ip, --mac/],
  [['create', 'podnetwork', 'pod1', '--mac', '01:00:5e:00:00:01'], /"--mac" flag: is a multicast address/],
  [['create', 'podnetwork', 'pod1', '--mac', 'fa:16:3e:00:00'], /"--mac" flag: not a MAC address/],
  [
    ['get', 'networks', '--store', '/var/lib/nnet/nnet.db'],
    /"--store" flag: expected sqlite:\/PATH or etcd:/,
  ],
  [['create', 'cluster', 'prod', '--cacert', '/ca.pem'], /^unknown flag: --cacert/],
  [['create', 'cluster', 'prod', '--os-cloud', 'x'], /^unknown flag: --os-cloud/],
  [['get', 'networks,pods'], /cannot be mixed with Kubernetes resources/],
  [['get', 'networks,subnets'], /one resource type at a time/],
  [['get', 'network/a', 'subnet/b'], /one resource type at a time: "subnet\/b"/],
  [['get', 'network/a', 'b'], /no need to specify a resource type as a separate argument/],
  [['delete', 'network'], /^at least one NAME is required/],
  [['connect', 'router', 'r1'], /^required flag "--subnet" not set/],
  [['connect', 'subnet', 's1', '--subnet', 'x'], /^kubenetctl connect takes one of: router; not subnet$/],
  [['connect'], /^kubenetctl connect needs a resource type: one of router$/],
  [['gc', 'extra'], /^kubenetctl gc takes no arguments, got 1$/],
  [['get', 'clusters', '--cluster', 'Bad_Name'], /"--cluster" flag/],
  [['get', 'networks', '-v', 'x'], /"--v" flag: not an integer/],
];

for (const [argv, message] of BAD) {
  test(`"${argv.join(' ')}" is rejected: ${message.source}`, () => {
    assert.throws(
      () => parseCommandLine(argv),
      (err: unknown) => {
        assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
        assert.equal(err.reason, 'invalid-argument');
        assert.match(err.message, message);
        return true;
      },
    );
  });
}

test('a secret given as a flag is refused without echoing it', () => {
  for (const argv of [
    ['create', 'cluster', 'prod', '--password', 'hunter2-secret'],
    ['create', 'cluster', 'prod', '--password=hunter2-secret'],
    [
      'create',
      'cluster',
      'prod',
      '--auth-url',
      'http://x/v3',
      '--application-credential-secret=hunter2-secret',
    ],
    ['create', 'cluster', 'prod', '--token', 'hunter2-secret'],
  ]) {
    assert.throws(
      () => parseCommandLine(argv),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.match(err.message, /would put a secret on the command line/);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      },
    );
  }
});

test('an auth URL with credentials is refused without echoing it', () => {
  assert.throws(
    () =>
      parseCommandLine([
        'create',
        'cluster',
        'prod',
        '--auth-url',
        'http://admin:hunter2@ks/v3',
        '--secret-stdin',
        '--application-credential-id',
        'a',
      ]),
    (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /must not contain credentials/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    },
  );
});
