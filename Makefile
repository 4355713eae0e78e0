# The seed's make targets, kept as one-line aliases of pulumi, the project's CLI (npm run …),
# kubectl and talosctl. kubectl and talosctl use the contexts `make kubeconfig` and
# `make talosconfig` merge into ~/.kube/config and ~/.talos/config.
STACK   ?= dev
CLUSTER ?= talos
KUBECTL  = kubectl --context admin@$(CLUSTER)
TALOSCTL = talosctl --context $(CLUSTER)
NODE_IP  = $$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $(CLUSTER)-$(1))
NEED_TALOSCTL = command -v talosctl >/dev/null || { echo "talosctl is not installed: see https://www.talos.dev/latest/talos-guides/install/talosctl/"; exit 1; }

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
	docker restart $$(docker ps -aq --filter label=talos.cluster.name=$(CLUSTER))
nodes: ## kubectl get nodes
	$(KUBECTL) get nodes -o wide
pods: ## kubectl get pods, all namespaces
	$(KUBECTL) get pods -A -o wide
services: ## kubectl get services, all namespaces
	$(KUBECTL) get services -A
events: ## recent events, all namespaces
	$(KUBECTL) get events -A --sort-by=.lastTimestamp
top-nodes: ## node CPU and memory (needs metrics-server)
	$(KUBECTL) top nodes
top-pods: ## pod CPU and memory (needs metrics-server)
	$(KUBECTL) top pods -A
logs-cp: ## the first control plane's console log
	npm run -s logs -- $(CLUSTER)-cp-01
logs-worker-%: ## worker N's console log (logs-worker-1, …)
	npm run -s logs -- $(CLUSTER)-worker-$$(printf %02d $*)
shell-cp: ## talosctl dashboard on the first control plane
	@$(NEED_TALOSCTL); $(TALOSCTL) -n $(call NODE_IP,cp-01) dashboard
shell-worker-%: ## talosctl dashboard on worker N (shell-worker-1, …)
	@$(NEED_TALOSCTL); $(TALOSCTL) -n $(call NODE_IP,worker-$$(printf %02d $*)) dashboard
