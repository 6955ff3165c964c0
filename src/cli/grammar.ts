/**
 * What belongs to N-Net on a kubenetctl command line. The parser (parse.ts) and the help
 * (help.ts) are driven by these tables; everything not matched here is kubectl's.
 */
import type { Noun, OutputFormat } from './types.ts';

/** Resource words → N-Net noun. Matched exactly, so `networks.config.openshift.io` stays kubectl's. */
export const NOUN_WORDS: Readonly<Record<string, Noun>> = {
  networks: 'network',
  network: 'network',
  net: 'network',
  subnets: 'subnet',
  subnet: 'subnet',
  routers: 'router',
  router: 'router',
  clusters: 'cluster',
  cluster: 'cluster',
  podnetworks: 'podnetwork',
  podnetwork: 'podnetwork',
  podnet: 'podnetwork',
  pools: 'pool',
  pool: 'pool',
};

export const NOUN_PLURAL: Readonly<Record<Noun, string>> = {
  network: 'networks',
  subnet: 'subnets',
  router: 'routers',
  cluster: 'clusters',
  podnetwork: 'podnetworks',
  pool: 'pools',
};

/** What each noun is, for `kubenetctl NOUN --help`. */
export const NOUN_SUMMARY: Readonly<Record<Noun, string>> = {
  network:
    "Neutron networks N-Net manages for a cluster: created by kubenetctl, tagged nnet and nnet-cluster=CLUSTER in Neutron and recorded in N-Net's store. 'get networks --all' also lists those N-Net does not manage.",
  subnet:
    "Subnets (IP ranges) of networks, managed like networks. Pods name them by name, id or CIDR (--subnet 1.2.0.0/16); a CIDR is looked up among the cluster's subnets first.",
  router:
    'Routers N-Net manages: connect subnets to a router to route between them (the paper: "1.2.0.0/16 and 192.168.10.0/24 are connected").',
  cluster:
    "Kubernetes clusters registered with N-Net: each one's Keystone identity (clouds.yaml entry, OS_* variables, or flags with the secret on stdin or in a 0600 file), verified when registered, used by the CNI plugin on the cluster's nodes. Never shown with its secret.",
  podnetwork:
    "A pod's network config: the network or subnet, static IPs (one per family: IPv4, IPv6 or both) and MAC it asked for (kubenetctl run --subnet/--ip, the nnet.io/* annotations, or 'create podnetwork'), the Neutron port reserved for it at once, and, once the pod runs, the node the CNI plugin bound the port to.",
  pool: "Each node's warm port pools (one per network and security-group set), kept by the node's nnet-agent: Neutron ports made in bulk, bound to the node and plugged before any pod asks, so an ADD only moves a NIC. Sized per cluster: 'create cluster' or 'set cluster' with --pool-min, --pool-max, --pool-batch. Read-only: as each node's agent last recorded it.",
};

/** How a flag's value is checked (validate.ts) before a handler sees it. */
export type FlagType =
  | 'string'
  | 'name' // a Neutron/N-Net resource name or id
  | 'subnet-ref' // a subnet name or id, or its CIDR
  | 'namespace'
  | 'bool'
  | 'int'
  | 'ip'
  | 'cidr'
  | 'pool' // START-END
  | 'output'
  | 'mac'
  | 'url'
  | 'path'
  | 'interface';

export interface FlagSpec {
  name: string;
  short?: string;
  aliases?: readonly string[];
  type: FlagType;
  repeatable?: boolean;
  /** The value placeholder and text in help. */
  placeholder?: string;
  usage: string;
}

/** Every flag N-Net defines, by long name. */
export const FLAGS: Readonly<Record<string, FlagSpec>> = {
  // present on every network command
  namespace: {
    name: 'namespace',
    short: 'n',
    type: 'namespace',
    usage: 'The Kubernetes namespace (podnetworks).',
  },
  context: { name: 'context', type: 'string', usage: 'The kubeconfig context to use.' },
  kubeconfig: { name: 'kubeconfig', type: 'path', usage: 'Path to the kubeconfig file to use.' },
  v: { name: 'v', short: 'v', type: 'int', usage: 'Number for the log level verbosity.' },
  help: { name: 'help', short: 'h', type: 'bool', usage: 'Help for this command.' },
  // where N-Net's state is and whose OpenStack credentials to use
  store: {
    name: 'store',
    type: 'string',
    placeholder: 'URL',
    usage:
      "N-Net's store: sqlite:/PATH or etcd:http://HOST:2379 (default: $NNET_STORE, else sqlite:/var/lib/nnet/nnet.db).",
  },
  'os-cloud': {
    name: 'os-cloud',
    type: 'string',
    placeholder: 'CLOUD',
    usage:
      'Your OpenStack credentials: this clouds.yaml entry (default: as the openstack CLI, $OS_CLOUD or the OS_* variables).',
  },
  // scope and output
  cluster: {
    name: 'cluster',
    type: 'name',
    usage:
      'The N-Net cluster (registered with "create cluster"); default: $NNET_CLUSTER, else the only registered one.',
  },
  all: {
    name: 'all',
    type: 'bool',
    usage: "Networks, subnets, routers: list every one visible in Neutron, not only the cluster's.",
  },
  force: {
    name: 'force',
    type: 'bool',
    usage: "Podnetworks: release the reservation even while a pod's network is plugged on a node.",
  },
  'all-namespaces': {
    name: 'all-namespaces',
    short: 'A',
    type: 'bool',
    usage: 'List podnetworks across all namespaces.',
  },
  output: { name: 'output', short: 'o', type: 'output', usage: 'Output format.' },
  // networks, subnets, routers
  network: {
    name: 'network',
    type: 'name',
    placeholder: 'NETWORK',
    usage:
      "The Neutron network (name or id). Pods: repeat it for more NICs (net1, net2, …, at most 8 in all), each NETWORK[@IP] with an optional static IP there; the first is eth0's and carries the default route.",
  },
  subnet: {
    name: 'subnet',
    type: 'subnet-ref',
    placeholder: 'SUBNET',
    usage: 'The Neutron subnet (name, id, or its CIDR).',
  },
  ip: {
    name: 'ip',
    type: 'ip',
    repeatable: true,
    placeholder: 'IP',
    usage:
      "The pod's static IP address; must lie inside the subnet. Dual-stack: give it twice, an IPv4 and an IPv6 address (at most one per family).",
  },
  mac: {
    name: 'mac',
    type: 'mac',
    placeholder: 'MAC',
    usage: "The pod's MAC address (default: Neutron picks one).",
  },
  'security-group': {
    name: 'security-group',
    type: 'string',
    repeatable: true,
    placeholder: 'GROUP',
    usage:
      "A Neutron security group of your project (name or id) for the pod's port; repeat it, or give a comma-separated list. Default: the cluster's set. The cluster's node-access group is always added, so the node's probes and Services reach the pod.",
  },
  mtu: { name: 'mtu', type: 'int', usage: 'MTU of the network.' },
  description: { name: 'description', type: 'string', usage: 'A description stored with the resource.' },
  cidr: { name: 'cidr', type: 'cidr', placeholder: 'CIDR', usage: 'The subnet range, e.g. 1.2.0.0/16.' },
  gateway: {
    name: 'gateway',
    type: 'ip',
    placeholder: 'IP',
    usage: "The gateway address (default: the range's first address).",
  },
  'ip-version': {
    name: 'ip-version',
    type: 'int',
    placeholder: '4|6',
    usage: "The subnet's IP version; must match the CIDR (default: the CIDR's).",
  },
  'ipv6-address-mode': {
    name: 'ipv6-address-mode',
    type: 'string',
    placeholder: 'MODE',
    usage:
      'IPv6 subnets: dhcpv6-stateful, dhcpv6-stateless or slaac; sets both the address mode and the router advertisement mode.',
  },
  'no-gateway': { name: 'no-gateway', type: 'bool', usage: 'Create the subnet without a gateway.' },
  'allocation-pool': {
    name: 'allocation-pool',
    type: 'pool',
    repeatable: true,
    placeholder: 'START-END',
    usage: 'A range Neutron allocates addresses from (repeatable).',
  },
  dns: {
    name: 'dns',
    type: 'ip',
    repeatable: true,
    placeholder: 'IP',
    usage: 'A DNS server handed out by DHCP (repeatable).',
  },
  'no-dhcp': { name: 'no-dhcp', type: 'bool', usage: 'Disable DHCP on the subnet.' },
  'external-network': {
    name: 'external-network',
    type: 'name',
    placeholder: 'NETWORK',
    usage: 'The external network of the router gateway.',
  },
  'dry-run': { name: 'dry-run', type: 'bool', usage: 'Only print what would be deleted.' },
  'min-age': {
    name: 'min-age',
    type: 'int',
    placeholder: 'SECONDS',
    usage:
      'Only reserved ports at least this old (default 60): a younger one may belong to a kubenetctl still reserving it.',
  },
  node: {
    name: 'node',
    type: 'name',
    placeholder: 'NAME',
    usage:
      "Release a node that left the cluster: its pods' ports (reservations are unbound and kept), its own ports and its records.",
  },
  'cni-config': {
    name: 'cni-config',
    type: 'string',
    placeholder: 'FILE',
    usage: "Also sweep this node, as nnet-agent does: the node's nnet CNI config (conflist).",
  },
  // cluster registration; secrets never come from the command line
  cloud: { name: 'cloud', type: 'string', usage: 'Take the credentials from this clouds.yaml entry.' },
  'clouds-file': {
    name: 'clouds-file',
    type: 'path',
    usage: 'The clouds.yaml to read (default: the standard search path).',
  },
  'auth-url': { name: 'auth-url', type: 'url', usage: 'Keystone URL, e.g. http://keystone:5000/v3.' },
  region: { name: 'region', type: 'string', usage: 'The region of the endpoints to use.' },
  interface: {
    name: 'interface',
    type: 'interface',
    usage: 'Endpoint interface: public, internal or admin.',
  },
  username: { name: 'username', type: 'string', usage: 'The Keystone user.' },
  'user-domain': { name: 'user-domain', type: 'string', usage: "The user's domain name (default: Default)." },
  project: { name: 'project', type: 'string', usage: 'The project to scope to.' },
  'project-domain': {
    name: 'project-domain',
    type: 'string',
    usage: "The project's domain name (default: Default).",
  },
  'application-credential-id': {
    name: 'application-credential-id',
    type: 'string',
    usage: 'Authenticate with this application credential (its secret from --secret-stdin or --secret-file).',
  },
  'secret-stdin': {
    name: 'secret-stdin',
    aliases: ['password-stdin'],
    type: 'bool',
    usage: 'Read the password (or application credential secret) from stdin.',
  },
  'secret-file': {
    name: 'secret-file',
    aliases: ['password-file'],
    type: 'path',
    usage: 'Read the password (or application credential secret) from this file (mode 0600).',
  },
  'node-credentials': {
    name: 'node-credentials',
    type: 'path',
    usage:
      "Where every node finds the cluster's credentials: a clouds.yaml or openrc, mode 0600 (default: the clouds.yaml --cloud came from). The store keeps this path, never the secret.",
  },
  'node-cloud': {
    name: 'node-cloud',
    type: 'string',
    usage: 'The cloud entry in --node-credentials (default: --cloud).',
  },
  'migrate-credentials': {
    name: 'migrate-credentials',
    type: 'bool',
    usage:
      'For a cluster already registered: replace the credentials it keeps (a secret, in stores of older N-Net versions) by the --node-credentials reference, keeping every other setting.',
  },
  'default-network': {
    name: 'default-network',
    type: 'name',
    usage: "Network (name or id) for the cluster's pods that have no N-Net network config.",
  },
  'default-subnet': {
    name: 'default-subnet',
    type: 'name',
    usage: 'Subnet (name or id) of the default network for those pods (default: Neutron picks one).',
  },
  'pool-min': {
    name: 'pool-min',
    type: 'int',
    placeholder: 'N',
    usage:
      "Warm port pools: the ready ports each node's agent keeps per network (refilled in the background; default 0).",
  },
  'pool-max': {
    name: 'pool-max',
    type: 'int',
    placeholder: 'N',
    usage:
      "Warm port pools: the most ready ports a pool keeps; a deleted pod's port goes back while fewer are ready (0: no pools; default max(16, 2 × min)).",
  },
  'pool-batch': {
    name: 'pool-batch',
    type: 'int',
    placeholder: 'N',
    usage: 'Warm port pools: ports made per Neutron request (one bulk POST; default min(16, max(min, 1))).',
  },
  'service-cidr': {
    name: 'service-cidr',
    type: 'string',
    usage:
      "The cluster's Service CIDRs, as kube-apiserver's --service-cluster-ip-range (one per family, comma-separated; default 10.96.0.0/12). Pods route them through their node, where kube-proxy handles them.",
  },
};

/** Flags that would put a secret on the command line (ps, shell history): always refused. */
export const SECRET_FLAGS: readonly string[] = [
  'password',
  'os-password',
  'secret',
  'application-credential-secret',
  'os-application-credential-secret',
  'token',
  'os-token',
];

/** Flags accepted by every network command (kubectl's global ones that still make sense). */
export const COMMON_FLAGS: readonly string[] = ['namespace', 'context', 'kubeconfig', 'v', 'help', 'store'];

export type NetworkVerb = 'get' | 'describe' | 'create' | 'delete' | 'set' | 'connect' | 'disconnect' | 'gc';

/** One row per N-Net network command. */
export interface CommandSpec {
  id: string;
  verb: NetworkVerb;
  /** Nouns this row applies to; empty for noun-less commands (gc). */
  nouns: readonly Noun[];
  /** Positional arguments after the noun. */
  args: { name: string; min: number; max: number };
  /** Flags beyond COMMON_FLAGS. */
  flags: readonly string[];
  /** Flags that must be given. */
  required?: readonly string[];
  /** Flags this command takes more than once although their definition does not (a pod's --network). */
  repeats?: readonly string[];
  /** Allowed -o formats (table = no -o). */
  outputs?: readonly OutputFormat[];
  summary: string;
  examples: readonly string[];
}

const ALL_NOUNS: readonly Noun[] = ['network', 'subnet', 'router', 'cluster', 'podnetwork'];
const GET_NOUNS: readonly Noun[] = [...ALL_NOUNS, 'pool'];
const ONE = (name: string) => ({ name, min: 1, max: 1 });

export const COMMANDS: readonly CommandSpec[] = [
  {
    id: 'get',
    verb: 'get',
    nouns: GET_NOUNS,
    args: { name: 'NAME', min: 0, max: Number.POSITIVE_INFINITY },
    flags: ['cluster', 'os-cloud', 'output', 'all-namespaces', 'all'],
    outputs: ['table', 'wide', 'json', 'yaml', 'name'],
    summary: 'Display one or many N-Net resources',
    examples: [
      '# List the networks of the cluster (from the store, joined with Neutron)',
      'kubenetctl get networks',
      '',
      "# Every Neutron network you can see, N-Net's or not",
      'kubenetctl get networks --all',
      '',
      '# Show one subnet as YAML',
      'kubenetctl get subnet pods-a -o yaml',
      '',
      "# Pods' networks: the wanted subnet and IP next to the port, node and state",
      'kubenetctl get podnetworks -n team-a -o wide',
      '',
      "# Every node's warm port pools: ready, in use, target",
      'kubenetctl get pools -o wide',
    ],
  },
  {
    id: 'describe',
    verb: 'describe',
    nouns: ALL_NOUNS,
    args: { name: 'NAME', min: 0, max: Number.POSITIVE_INFINITY },
    flags: ['cluster', 'os-cloud', 'all-namespaces'],
    summary: 'Show details of N-Net resources',
    examples: ['# Describe the network config of pod1', 'kubenetctl describe podnetwork pod1 -n team-a'],
  },
  {
    id: 'delete',
    verb: 'delete',
    nouns: ALL_NOUNS,
    args: { name: 'NAME', min: 1, max: Number.POSITIVE_INFINITY },
    flags: ['cluster', 'os-cloud', 'force'],
    summary: 'Delete N-Net resources by name',
    examples: [
      '# Delete a subnet (refused while ports use it)',
      'kubenetctl delete subnet pods-b',
      '',
      "# Release a pod's reservation: deletes its Neutron port and its config",
      'kubenetctl delete podnetwork pod1 -n team-a',
    ],
  },
  {
    id: 'create-network',
    verb: 'create',
    nouns: ['network'],
    args: ONE('NAME'),
    flags: ['cluster', 'os-cloud', 'mtu', 'description', 'output'],
    outputs: ['table', 'json', 'yaml', 'name'],
    summary: 'Create a Neutron network for pods',
    examples: [
      'kubenetctl create network pods',
      '',
      '# With an MTU',
      'kubenetctl create network pods --mtu 1450',
    ],
  },
  {
    id: 'create-subnet',
    verb: 'create',
    nouns: ['subnet'],
    args: ONE('NAME'),
    flags: [
      'cluster',
      'os-cloud',
      'network',
      'cidr',
      'ip-version',
      'ipv6-address-mode',
      'gateway',
      'no-gateway',
      'allocation-pool',
      'dns',
      'no-dhcp',
      'description',
      'output',
    ],
    required: ['network', 'cidr'],
    outputs: ['table', 'json', 'yaml', 'name'],
    summary: 'Create a subnet in an N-Net network',
    examples: [
      "# The paper's subnet 1.2.0.0/16",
      'kubenetctl create subnet pods-a --network pods --cidr 1.2.0.0/16',
      '',
      '# With an allocation pool and DNS servers',
      'kubenetctl create subnet pods-b --network pods --cidr 192.168.10.0/24 \\',
      '    --allocation-pool 192.168.10.50-192.168.10.200 --dns 192.168.10.2',
      '',
      '# An IPv6 subnet on the same network: pods get an address of each family',
      'kubenetctl create subnet pods-v6 --network pods --cidr fd00:1::/64 --ip-version 6 \\',
      '    --ipv6-address-mode dhcpv6-stateful',
    ],
  },
  {
    id: 'create-router',
    verb: 'create',
    nouns: ['router'],
    args: ONE('NAME'),
    flags: ['cluster', 'os-cloud', 'external-network', 'description', 'output'],
    outputs: ['table', 'json', 'yaml', 'name'],
    summary: 'Create a router (join subnets with "connect router")',
    examples: ['kubenetctl create router r1'],
  },
  {
    id: 'create-cluster',
    verb: 'create',
    nouns: ['cluster'],
    args: ONE('NAME'),
    flags: [
      'cloud',
      'clouds-file',
      'auth-url',
      'region',
      'interface',
      'username',
      'user-domain',
      'project',
      'project-domain',
      'application-credential-id',
      'secret-stdin',
      'secret-file',
      'node-credentials',
      'node-cloud',
      'migrate-credentials',
      'default-network',
      'default-subnet',
      'service-cidr',
      'security-group',
      'pool-min',
      'pool-max',
      'pool-batch',
      'output',
    ],
    outputs: ['table', 'json', 'yaml', 'name'],
    summary: 'Register a Kubernetes cluster and where its nodes find its Keystone credentials',
    examples: [
      '# From a clouds.yaml entry that every node has at the same path (mode 0600)',
      'kubenetctl create cluster prod --cloud k8s --clouds-file /etc/nnet/clouds.yaml --default-network pods',
      '',
      '# Checked here with an openrc; the nodes read /etc/nnet/clouds.yaml, cloud k8s',
      'source openrc && kubenetctl create cluster prod --node-credentials /etc/nnet/clouds.yaml --node-cloud k8s',
      '',
      '# With warm port pools: 8 ready ports per node and network, made 8 per Neutron request',
      'kubenetctl create cluster prod --cloud prod-admin --pool-min 8 --pool-max 32 --pool-batch 8',
      '',
      '# Explicit, with the password on stdin',
      'kubenetctl create cluster prod --auth-url http://keystone:5000/v3 --username k8s \\',
      '    --project k8s --secret-stdin --node-credentials /etc/nnet/k8s.openrc < password.txt',
      '',
      '# A cluster an older N-Net registered with its secret in the store: keep only a reference',
      'kubenetctl create cluster prod --cloud k8s --clouds-file /etc/nnet/clouds.yaml --migrate-credentials',
    ],
  },
  {
    id: 'create-podnetwork',
    verb: 'create',
    nouns: ['podnetwork'],
    args: ONE('POD'),
    flags: ['cluster', 'os-cloud', 'network', 'subnet', 'ip', 'mac', 'security-group', 'output'],
    repeats: ['network'],
    outputs: ['table', 'json', 'yaml', 'name'],
    summary: "Reserve a pod's network (subnet, static IP, security groups) before the pod is created",
    examples: [
      '# Reserve 1.2.0.100 for pod1 (its Neutron port is created now, bound when the pod starts)',
      'kubenetctl create podnetwork pod1 -n team-a --subnet 1.2.0.0/16 --ip 1.2.0.100',
      '',
      '# Dual-stack: one static IP of each family (the network has an IPv4 and an IPv6 subnet)',
      'kubenetctl create podnetwork pod3 -n team-a --network pods --ip 1.2.0.103 --ip fd00:1::103',
      '',
      '# Any address of a named subnet, with a fixed MAC',
      'kubenetctl create podnetwork pod2 -n team-a --network pods --subnet pods-b --mac fa:16:3e:00:00:02',
      '',
      '# A second NIC (net1) on the network storage, with a static IP there; eth0 keeps the default route',
      'kubenetctl create podnetwork db1 -n team-a --network pods --network storage@10.77.0.50',
      '',
      "# The pod's own security groups instead of the cluster's",
      'kubenetctl create podnetwork web1 -n team-a --security-group web --security-group ssh',
    ],
  },
  {
    id: 'set-podnetwork',
    verb: 'set',
    nouns: ['podnetwork'],
    args: ONE('POD'),
    flags: ['cluster', 'os-cloud', 'security-group', 'output'],
    required: ['security-group'],
    outputs: ['table', 'json', 'yaml', 'name'],
    summary: "Change a pod's security groups, also while it runs (in place: no re-plug, no IP change)",
    examples: [
      '# web1 admits what the groups web and ssh admit, from now on',
      'kubenetctl set podnetwork web1 -n team-a --security-group web,ssh',
    ],
  },
  {
    id: 'set-cluster',
    verb: 'set',
    nouns: ['cluster'],
    args: ONE('NAME'),
    flags: [
      'os-cloud',
      'pool-min',
      'pool-max',
      'pool-batch',
      'default-network',
      'default-subnet',
      'security-group',
      'output',
    ],
    outputs: ['table', 'json', 'yaml', 'name'],
    summary: "Change a registered cluster's settings: its nodes' warm port pools, its default network",
    examples: [
      '# Keep 16 ports ready on every node (the agents pick it up within seconds)',
      'kubenetctl set cluster prod --pool-min 16 --pool-max 64',
      '',
      "# No pools: the agents delete their pools' free ports",
      'kubenetctl set cluster prod --pool-max 0',
      '',
      '# The network of pods that ask for none (e.g. one made after the cluster was registered)',
      'kubenetctl set cluster prod --default-network pods',
      '',
      '# The security groups of pods that choose none (new ports, and the pools refill with them)',
      'kubenetctl set cluster prod --security-group pods-default',
    ],
  },
  {
    id: 'connect-router',
    verb: 'connect',
    nouns: ['router'],
    args: ONE('ROUTER'),
    flags: ['cluster', 'os-cloud', 'subnet'],
    required: ['subnet'],
    summary: 'Join a subnet to a router',
    examples: [
      '# Connect 1.2.0.0/16 and 192.168.10.0/24',
      'kubenetctl connect router r1 --subnet 1.2.0.0/16',
      'kubenetctl connect router r1 --subnet 192.168.10.0/24',
    ],
  },
  {
    id: 'disconnect-router',
    verb: 'disconnect',
    nouns: ['router'],
    args: ONE('ROUTER'),
    flags: ['cluster', 'os-cloud', 'subnet'],
    required: ['subnet'],
    summary: 'Remove a subnet from a router',
    examples: ['kubenetctl disconnect router r1 --subnet pods-a'],
  },
  {
    id: 'gc',
    verb: 'gc',
    nouns: [],
    args: { name: '', min: 0, max: 0 },
    flags: ['cluster', 'os-cloud', 'dry-run', 'min-age', 'cni-config', 'node'],
    summary:
      'Delete reserved ports no pod config refers to; with --cni-config, also sweep a node; with --node, release a node that left the cluster',
    examples: [
      '# What would be deleted (also reservations a killed kubenetctl left untagged)',
      'kubenetctl gc --dry-run',
      '',
      'kubenetctl gc',
      '',
      '# On a node: also release attachments whose pod is gone and ports nothing records',
      'kubenetctl gc --cni-config /etc/cni/net.d/10-nnet.conflist',
    ],
  },
];

/** Neutron's IPv6 address (and router advertisement) modes, for --ipv6-address-mode. */
export const IPV6_MODES = ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac'] as const;

/** Flags N-Net takes from a `kubectl run` line (the rest of the line is kubectl's). */
export const POD_FLAGS: readonly string[] = ['network', 'subnet', 'ip', 'mac', 'security-group'];

/** Pod annotations N-Net reads from manifests given to `apply|create|delete -f`. */
export const ANNOTATIONS: Readonly<Record<string, 'network' | 'subnet' | 'ip' | 'mac' | 'security-group'>> = {
  'nnet.io/network': 'network',
  'nnet.io/subnet': 'subnet',
  'nnet.io/ip': 'ip',
  'nnet.io/mac': 'mac',
  'nnet.io/security-groups': 'security-group',
  'nnet.io/networks': 'network',
};
export const ANNOTATION_PREFIX = 'nnet.io/';

/** kubectl's words for pods (`delete pod NAME` releases the pod's reservation). */
export const POD_WORDS: readonly string[] = ['pod', 'pods', 'po'];

/** kubectl verbs whose `-f` manifests N-Net reads, and what it does with their pods. */
export const MANIFEST_VERBS: Readonly<Record<string, 'reserve' | 'release'>> = {
  apply: 'reserve',
  create: 'reserve',
  delete: 'release',
};
