// How `npm run destroy` tells the node removal steps that the whole cluster goes. A node's removal
// (a worker's drain and Node deletion, a control plane's etcd leave) is the delete of its config
// resource, so the engine runs it before the node's container goes: on a scale-down in `pulumi up`,
// on `pulumi destroy --target` of a node, and on a `pulumi destroy` of the whole stack too, which
// the engine cannot tell apart from them (every delete sees only its own resource's state). There
// it would only cost time, and fail where the cluster is already down; so the destroy command says
// so in the environment, which the command provider passes on to every delete it runs. Pure.

/** "true" in the environment of the `pulumi destroy` that `npm run destroy` runs: no node removal runs. */
export const TEARDOWN_ENV = "TALOS_DOCKER_TEARDOWN";
