# The seed's make targets, kept as one-line aliases of pulumi, the project's CLI (npm run …),
# kubectl, talosctl and docker. kubectl and talosctl use the contexts `make kubeconfig` and
# `make talosconfig` merge into ~/.kube/config and ~/.talos/config; their targets, and restart,
# first check that the context or the containers are there and say what to run when not.
STACK   ?= dev
HERE    := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
# The stack's cluster: its clusterName as Pulumi.$(STACK).yaml sets it (where `pulumi config set`
# writes it), read from the file so it works before a deploy and without pulumi; else the
# program's default (DEFAULTS.clusterName in model/config.ts; a test keeps them equal).
ifeq ($(origin CLUSTER),undefined)
CLUSTER := $(or $(shell sed -n "s/^ *talos-docker:clusterName: *[\"']\{0,1\}\([a-z0-9-]*\).*/\1/p" \
             "$(HERE)Pulumi.$(STACK).yaml" 2>/dev/null | head -n 1),talos)
endif
KUBECTL  = kubectl --context admin@$(CLUSTER)
TALOSCTL = talosctl --context $(CLUSTER)
NODE_IP  = $$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $(CLUSTER)-$(1))
# The label Talos' provisioner and our program put on every node container (cli/cluster/target.ts LABELS).
CONTAINERS = docker ps -aq --filter label=talos.cluster.name=$(CLUSTER)

# Checks before a tool runs, each saying what to do instead of the tool's own error.
NEED_KUBECTL = command -v kubectl >/dev/null || { echo "kubectl is not installed: see https://kubernetes.io/docs/tasks/tools/" >&2; exit 1; }; \
    kubectl config get-contexts admin@$(CLUSTER) >/dev/null 2>&1 || \
    { echo "kubectl has no context admin@$(CLUSTER): run make kubeconfig STACK=$(STACK) first" >&2; exit 1; }
# `talosctl config contexts` prints a table: CURRENT (a * or nothing), NAME, ENDPOINTS, NODES.
NEED_TALOSCTL = command -v talosctl >/dev/null || { echo "talosctl is not installed: see https://www.talos.dev/latest/talos-guides/install/talosctl/" >&2; exit 1; }; \
    talosctl config contexts 2>/dev/null | awk 'NR > 1 { print ($$1 == "*" ? $$2 : $$1) }' | grep -qxF '$(CLUSTER)' || \
    { echo "talosctl has no context $(CLUSTER): run make talosconfig STACK=$(STACK) first" >&2; exit 1; }
NEED_CONTAINERS = ids=$$($(CONTAINERS)) || exit 1; [ -n "$$ids" ] || \
    { echo "no containers of cluster $(CLUSTER) (label talos.cluster.name=$(CLUSTER)): deploy it first with make deploy-infra STACK=$(STACK)" >&2; exit 1; }

.PHONY: help check-deps deploy-infra destroy-infra destroy-infra-keep-config status kubeconfig talosconfig restart \
        nodes pods services events top-nodes top-pods logs-cp shell-cp

help: ## list the targets
	@grep -E '^[a-zA-Z%_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 28

check-deps: ## Docker, cgroup v2, image, ports, subnet, memory/CPUs, tools
	npm run -s doctor -- --stack $(STACK)
deploy-infra: ## create or update the cluster (pulumi up)
	pulumi up --stack $(STACK)
destroy-infra: ## remove everything: containers, volumes, network
	npm run -s destroy -- --stack $(STACK)
destroy-infra-keep-config: ## remove the cluster, keep its secrets for an identical re-create
	npm run -s destroy -- --stack $(STACK) --keep-secrets
status: ## the seven-section health report
	npm run -s status -- --stack $(STACK)
kubeconfig: ## merge the kubeconfig into ~/.kube/config (context admin@CLUSTER)
	npm run -s kubeconfig -- --stack $(STACK)
talosconfig: ## merge the talosconfig into ~/.talos/config (context CLUSTER)
	npm run -s talosconfig -- --stack $(STACK)
restart: ## restart the node containers (their volumes keep the cluster)
	@$(NEED_CONTAINERS)
	docker restart $$($(CONTAINERS))
nodes: ## kubectl get nodes
	@$(NEED_KUBECTL)
	$(KUBECTL) get nodes -o wide
pods: ## kubectl get pods, all namespaces
	@$(NEED_KUBECTL)
	$(KUBECTL) get pods -A -o wide
services: ## kubectl get services, all namespaces
	@$(NEED_KUBECTL)
	$(KUBECTL) get services -A
events: ## recent events, all namespaces
	@$(NEED_KUBECTL)
	$(KUBECTL) get events -A --sort-by=.lastTimestamp
top-nodes: ## node CPU and memory (needs metrics-server)
	@$(NEED_KUBECTL)
	$(KUBECTL) top nodes
top-pods: ## pod CPU and memory (needs metrics-server)
	@$(NEED_KUBECTL)
	$(KUBECTL) top pods -A
logs-cp: ## the first control plane's console log
	npm run -s logs -- $(CLUSTER)-cp-01
logs-worker-%: ## worker N's console log (logs-worker-1, …)
	npm run -s logs -- $(CLUSTER)-worker-$$(printf %02d $*)
shell-cp: ## talosctl dashboard on the first control plane
	@$(NEED_TALOSCTL)
	$(TALOSCTL) -n $(call NODE_IP,cp-01) dashboard
shell-worker-%: ## talosctl dashboard on worker N (shell-worker-1, …)
	@$(NEED_TALOSCTL)
	$(TALOSCTL) -n $(call NODE_IP,worker-$$(printf %02d $*)) dashboard
