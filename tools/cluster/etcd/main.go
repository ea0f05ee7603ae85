// Command etcd is etcd's server entry point (what go.etcd.io/etcd/v3's main does), built from
// the pinned server module so that `dataplane cluster up` needs no downloaded binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
