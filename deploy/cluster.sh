#!/usr/bin/env bash
# Starts a local cluster on 127.0.0.1, in one command (make cluster):
#   redis-server, the Codegen API sandbox (one upstream for all replicas),
#   CLUSTER_REPLICAS replicas of codegen-proxy with REDIS_URL set, and nginx
#   as a round-robin, SSE-friendly load balancer in front of them.
# Ctrl-C (or SIGTERM) stops everything it started; so does any part dying.
#
# Ports: nginx on CLUSTER_PORT (default 8080); then the sandbox, the
# replicas and Redis on the ports right after it. Each must be free.
# Needs bin/codegen-proxy and bin/codegen-sandbox (make cluster builds them),
# redis-server and nginx (apt-get install -y redis-server nginx-light).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${CLUSTER_PORT:-8080}
replicas=${CLUSTER_REPLICAS:-3}
for tool in redis-server nginx curl; do
	command -v "$tool" >/dev/null || { echo "cluster: $tool is not installed (apt-get install -y redis-server nginx-light curl)" >&2; exit 1; }
done
for bin in bin/codegen-proxy bin/codegen-sandbox; do
	[ -x "$bin" ] || { echo "cluster: $bin is missing: run make cluster" >&2; exit 1; }
done

sandbox_port=$((port + 1))
redis_port=$((port + 2 + replicas))
replica_ports=()
for i in $(seq 1 "$replicas"); do replica_ports+=($((port + 1 + i))); done
for p in "$port" "$sandbox_port" "${replica_ports[@]}" "$redis_port"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "cluster: port $p is taken; choose another CLUSTER_PORT" >&2
		exit 1
	fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/codegen-cluster.XXXXXX")
pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "cluster: stopping"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	echo "cluster: stopped; logs kept in $dir"
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

# wait_for URL: polls until it answers (any status), for at most 10 seconds.
wait_for() {
	for _ in $(seq 100); do
		curl -sS -o /dev/null "$1" 2>/dev/null && return 0 # any answer
		sleep 0.1
	done
	echo "cluster: $1 did not answer; see the logs in $dir" >&2
	exit 1
}

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
	>"$dir/redis.log" 2>&1 &
pids+=($!)
bin/codegen-sandbox --addr "127.0.0.1:$sandbox_port" >"$dir/sandbox.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$sandbox_port/v1/organizations"

upstreams=""
for p in "${replica_ports[@]}"; do
	CODEGEN_BASE_URL="http://127.0.0.1:$sandbox_port/v1" \
		REDIS_URL="redis://127.0.0.1:$redis_port/0" bin/codegen-proxy --addr "127.0.0.1:$p" \
		>"$dir/replica-$p.log" 2>&1 &
	pids+=($!)
	upstreams+="    server 127.0.0.1:$p;"$'\n'
done
for p in "${replica_ports[@]}"; do wait_for "http://127.0.0.1:$p/health"; done

mkdir -p "$dir/nginx"
cat >"$dir/nginx/nginx.conf" <<CONF
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
worker_processes 1;
events { worker_connections 4096; }
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx/client_body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  upstream codegen_proxy {
$upstreams    keepalive 32;
  }
  server {
    listen 127.0.0.1:$port;
    client_max_body_size 32m;
    location / {
      proxy_pass http://codegen_proxy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      # Request bodies go straight to a replica, never to a temp file: run as
      # root, nginx's workers (user nobody) cannot enter the 0700 log directory.
      proxy_request_buffering off;
      # Server-Sent Events: pass every byte at once, keep quiet streams open.
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
CONF
nginx -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
pids+=($!)
wait_for "http://127.0.0.1:$port/health"

cat <<MSG
cluster: up (logs in $dir)
  load balancer  http://127.0.0.1:$port   (nginx, round robin over ${#replica_ports[@]} replicas)
  replicas       ${replica_ports[*]/#/127.0.0.1:}
  upstream       http://127.0.0.1:$sandbox_port/v1   (the sandbox; any bearer token works)
  redis          redis://127.0.0.1:$redis_port/0
Try: curl http://127.0.0.1:$port/users/me -H "Authorization: Bearer sandbox"
Ctrl-C stops everything.
MSG

# Until Ctrl-C, or until any part exits by itself.
set +e
wait -n "${pids[@]}"
echo "cluster: a process exited; see the logs in $dir" >&2
exit 1
