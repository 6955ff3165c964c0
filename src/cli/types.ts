/**
 * The parser's output: what a kubenetctl command line means, as plain data. The parser
 * (`parse.ts`) produces these; handlers (`handlers/`) act on them.
 */
import type { ExtraNic } from './validate.ts';

/** N-Net's own resource types (canonical singular names). */
export type Noun = 'network' | 'subnet' | 'router' | 'cluster' | 'podnetwork' | 'pool';

/** --pool-min / --pool-max / --pool-batch as given (the others keep their value or default). */
export interface PoolFlags {
  min?: number;
  max?: number;
  batch?: number;
}

/** `-o` formats of N-Net's get; `table` is the default (no -o). */
export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

/** What the user asked for one pod's network: its network or subnet, and/or static IPs. */
export interface PodNetworkRequest {
  namespace: string;
  pod: string;
  /** Neutron network name or id. */
  network?: string;
  /** Neutron subnet name or id, or its CIDR (e.g. 1.2.0.0/16). */
  subnet?: string;
  /** Static IPs (canonical form), at most one per IP family, IPv4 first; possibly none. */
  ips: string[];
  /** MAC address (lowercase, colon-separated). */
  mac?: string;
  /** Security groups of the user's project, by name or id (default: the cluster's set). */
  securityGroups?: string[];
  /** The pod's other NICs: net1, net2, … in this order. */
  extraNics?: ExtraNic[];
}

/** Which N-Net cluster and Kubernetes namespace a network command is about. */
export interface Scope {
  /** N-Net cluster name (`--cluster`); undefined = the configured default. */
  cluster?: string;
  /** N-Net's store URL (`--store`); undefined = $NNET_STORE or the default. */
  store?: string;
  /** The user's clouds.yaml entry (`--os-cloud`); undefined = as the openstack CLI finds one. */
  osCloud?: string;
  /** Kubernetes namespace (`-n`); only podnetworks are namespaced. */
  namespace?: string;
  allNamespaces?: boolean;
  /** kubectl's `--context` / `--kubeconfig` / `-v`, when given to a network command. */
  kubeContext?: string;
  kubeconfig?: string;
  verbosity?: number;
}

/** How an IPv6 subnet's hosts get addresses (Neutron's ipv6_address_mode and ipv6_ra_mode). */
export type Ipv6Mode = 'dhcpv6-stateful' | 'dhcpv6-stateless' | 'slaac';

export interface AllocationPool {
  start: string;
  end: string;
}

/**
 * Where `create cluster` takes the Keystone credentials from. Secrets never come from the
 * command line itself: a clouds.yaml entry, the OS_* environment, a 0600 file or stdin.
 */
export type ClusterCredentialSource =
  | { from: 'clouds-yaml'; cloud: string; cloudsFile?: string }
  | { from: 'env' }
  | {
      from: 'flags';
      authUrl: string;
      username?: string;
      userDomain?: string;
      project?: string;
      projectDomain?: string;
      applicationCredentialId?: string;
      /** The password, or the application credential secret. */
      secret: { from: 'stdin' } | { from: 'file'; path: string };
    };

/** A manifest source named by `-f`. URLs are left to kubectl (their annotations are not read). */
export type ManifestSource =
  | { kind: 'stdin' }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string };

export type NetworkCommand =
  // --- N-Net resources (never passed to kubectl) ---
  /** all: networks/subnets/routers visible in Neutron, not only the cluster's. */
  | { kind: 'get'; noun: Noun; names: string[]; output: OutputFormat; all?: true; scope: Scope }
  | { kind: 'describe'; noun: Noun; names: string[]; scope: Scope }
  /** force: release a podnetwork whose port is still bound to a node. */
  | { kind: 'delete'; noun: Noun; names: string[]; force?: true; scope: Scope }
  | {
      kind: 'create-network';
      name: string;
      mtu?: number;
      description?: string;
      output?: OutputFormat;
      scope: Scope;
    }
  | {
      kind: 'create-subnet';
      name: string;
      network: string;
      cidr: string;
      ipVersion: 4 | 6;
      /** undefined = Neutron's default (first address); null = no gateway. */
      gateway?: string | null;
      allocationPools: AllocationPool[];
      dns: string[];
      dhcp: boolean;
      /** IPv6 only: sets both Neutron's ipv6_address_mode and ipv6_ra_mode. */
      ipv6AddressMode?: Ipv6Mode;
      description?: string;
      output?: OutputFormat;
      scope: Scope;
    }
  | {
      kind: 'create-router';
      name: string;
      externalNetwork?: string;
      description?: string;
      output?: OutputFormat;
      scope: Scope;
    }
  | {
      kind: 'create-cluster';
      name: string;
      credentials: ClusterCredentialSource;
      /** Where the nodes read the credentials (default: the clouds.yaml they came from). */
      nodeCredentials?: { path: string; cloud?: string };
      /** Replace an existing cluster's credentials only. */
      migrateCredentials?: boolean;
      region?: string;
      interface?: 'public' | 'internal' | 'admin';
      defaultNetwork?: string;
      defaultSubnet?: string;
      serviceCidrs?: string[];
      /** The security groups of pods that choose none (names or ids). */
      securityGroups?: string[];
      pool?: PoolFlags;
      output?: OutputFormat;
      scope: Scope;
    }
  /** `set cluster NAME --pool-…`: change a registered cluster's settings. */
  | {
      kind: 'set-cluster';
      name: string;
      pool?: PoolFlags;
      defaultNetwork?: string;
      defaultSubnet?: string;
      securityGroups?: string[];
      output?: OutputFormat;
      scope: Scope;
    }
  /** `set podnetwork POD --security-group …`: change a pod's groups, in place while it runs. */
  | {
      kind: 'set-podnetwork';
      pod: string;
      namespace?: string;
      securityGroups: string[];
      output?: OutputFormat;
      scope: Scope;
    }
  /** namespace undefined = the kubeconfig context's namespace. */
  | {
      kind: 'create-podnetwork';
      pod: string;
      namespace?: string;
      network?: string;
      subnet?: string;
      /** Static IPs, at most one per family; possibly none. */
      ips: string[];
      mac?: string;
      securityGroups?: string[];
      extraNics?: ExtraNic[];
      output?: OutputFormat;
      scope: Scope;
    }
  | { kind: 'connect-router'; router: string; subnet: string; scope: Scope }
  | { kind: 'disconnect-router'; router: string; subnet: string; scope: Scope }
  | { kind: 'gc'; dryRun: boolean; scope: Scope; minAgeSeconds?: number; cniConfig?: string; node?: string }
  // --- kubenetctl's own ---
  | { kind: 'version'; output?: 'json' | 'yaml' }
  /**
   * topic undefined = the top-level help (kubectl's, plus the N-Net section); command 'noun' =
   * everything about one noun (`kubenetctl networks --help`, `kubenetctl help podnetworks`).
   */
  | { kind: 'help'; topic?: { command: string; noun?: Noun } }
  // --- mixed lines: a native kubectl command with a network side ---
  /** `run POD … --subnet/--ip/--network`: reserve, then kubectl run. namespace undefined = the kubeconfig context's. */
  | {
      kind: 'pod';
      pod: string;
      namespace?: string;
      network?: string;
      subnet?: string;
      /** Static IPs, at most one per family; possibly none. */
      ips: string[];
      mac?: string;
      securityGroups?: string[];
      extraNics?: ExtraNic[];
      /** --dry-run: validate only, reserve nothing. */
      dryRun?: true;
      /** --rm: kubectl deletes the pod when the session ends; release afterwards. */
      rm?: true;
    }
  /** `delete pod NAME…`: release the pods' reservations once kubectl succeeded. */
  | { kind: 'release-pod'; pods: string[]; namespace?: string }
  /** `apply|create|delete -f …`: read the manifests' N-Net annotations (see manifest.ts). */
  | {
      kind: 'pod-manifests';
      action: 'reserve' | 'release';
      sources: ManifestSource[];
      recursive: boolean;
      namespace?: string;
      dryRun?: true;
    };

export type NetworkCommandKind = NetworkCommand['kind'];

export interface ParsedCommandLine {
  /** Arguments for kubectl, unchanged and in order; null = kubectl is not run. */
  native: string[] | null;
  /** What N-Net does (alone, or around the native command); null = plain passthrough. */
  network: NetworkCommand | null;
}
