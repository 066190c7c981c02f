#!/bin/sh
# Start the bootstrap node alone, read its peer id, and print the address the
# other two nodes dial. Usage: export SHOAL_BOOTSTRAP_ADDR=$(./testnet-bootstrap-addr.sh)
set -e
cd "$(dirname "$0")"
docker compose up -d --build bootstrap >&2
for i in $(seq 1 30); do
  id=$(docker compose exec -T bootstrap node packages/node/dist/src/cli.js id --json 2>/dev/null | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{try{console.log(JSON.parse(s).peerId)}catch{}})")
  if [ -n "$id" ]; then echo "/dns4/bootstrap/tcp/4001/p2p/$id"; exit 0; fi
  sleep 1
done
echo "the bootstrap node did not start" >&2
exit 1
