// nnet-cni-harness drives CNI plugins through libcni, the library containerd and CRI-O use,
// exactly as they do: a conflist in a config dir, plugins in a bin dir, results cached in a
// cache dir, ADD -> (cached result) -> CHECK -> DEL.
//
//	nnet-cni-harness -confdir D -bindir B -cachedir C [-net NAME] -id CID -netns PATH \
//	  -ifname eth0 -args 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p' [-ips 1.2.0.5/16] [-mac MAC] \
//	  [-portmappings '[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]'] add|check|del|validate|version
//
// Plugin errors are printed on stdout as the CNI error JSON ({"code","msg","details"}), exit 2;
// harness/libcni errors as {"code":0,"msg":…}, exit 3.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func main() {
	confDir := flag.String("confdir", "/etc/cni/net.d", "CNI config dir")
	binDir := flag.String("bindir", "/opt/cni/bin", "CNI plugin dir (CNI_PATH, ':'-separated)")
	cacheDir := flag.String("cachedir", "/var/lib/cni", "libcni result cache dir")
	netName := flag.String("net", "", "network name (default: the first conflist in confdir)")
	id := flag.String("id", "", "container id")
	netns := flag.String("netns", "", "netns path")
	ifname := flag.String("ifname", "eth0", "interface name")
	cniArgs := flag.String("args", "", "CNI_ARGS, K=V;K=V")
	ips := flag.String("ips", "", "runtimeConfig ips capability, comma-separated")
	mac := flag.String("mac", "", "runtimeConfig mac capability")
	portMappings := flag.String("portmappings", "", `runtimeConfig portMappings capability, JSON: [{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]`)
	timeout := flag.Duration("timeout", 60*time.Second, "deadline for the operation")
	flag.Parse()
	if flag.NArg() != 1 {
		fail(3, fmt.Errorf("want one verb: add|check|del|validate|version"))
	}

	list, err := loadList(*confDir, *netName)
	if err != nil {
		fail(3, err)
	}
	cninet := libcni.NewCNIConfigWithCacheDir(strings.Split(*binDir, ":"), *cacheDir, nil)
	rt := &libcni.RuntimeConf{ContainerID: *id, NetNS: *netns, IfName: *ifname, CapabilityArgs: map[string]interface{}{}}
	for _, kv := range strings.Split(*cniArgs, ";") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		rt.Args = append(rt.Args, [2]string{k, v})
	}
	if *ips != "" {
		rt.CapabilityArgs["ips"] = strings.Split(*ips, ",")
	}
	if *mac != "" {
		rt.CapabilityArgs["mac"] = *mac
	}
	if *portMappings != "" {
		var pm []map[string]interface{}
		if err := json.Unmarshal([]byte(*portMappings), &pm); err != nil {
			fail(3, fmt.Errorf("-portmappings: %w", err))
		}
		rt.CapabilityArgs["portMappings"] = pm
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	switch flag.Arg(0) {
	case "add":
		res, err := cninet.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(2, err)
		}
		out(res)
	case "check":
		if _, err := cninet.GetNetworkListCachedResult(list, rt); err != nil {
			fail(3, err)
		}
		if err := cninet.CheckNetworkList(ctx, list, rt); err != nil {
			fail(2, err)
		}
	case "del":
		if err := cninet.DelNetworkList(ctx, list, rt); err != nil {
			fail(2, err)
		}
	case "validate":
		caps, err := cninet.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(2, err)
		}
		out(map[string]interface{}{"capabilities": caps})
	case "version":
		info, err := cninet.GetVersionInfo(ctx, list.Plugins[0].Network.Type)
		if err != nil {
			fail(2, err)
		}
		out(map[string]interface{}{"supportedVersions": info.SupportedVersions()})
	default:
		fail(3, fmt.Errorf("unknown verb %q", flag.Arg(0)))
	}
}

func loadList(dir, name string) (*libcni.NetworkConfigList, error) {
	if name != "" {
		return libcni.LoadConfList(dir, name)
	}
	files, err := libcni.ConfFiles(dir, []string{".conflist"})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .conflist in %s", dir)
	}
	return libcni.ConfListFromFile(files[0])
}

func out(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(3, err)
	}
	fmt.Println(string(b))
}

func fail(exit int, err error) {
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		out(map[string]interface{}{"code": cniErr.Code, "msg": cniErr.Msg, "details": cniErr.Details})
	} else {
		out(map[string]interface{}{"code": 0, "msg": err.Error()})
	}
	os.Exit(exit)
}
