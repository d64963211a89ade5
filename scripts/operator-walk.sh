#!/usr/bin/env bash
# An operator's walk through the release binary with its default settings,
# against the emulator on 127.0.0.1:8091-8092: a wrong client secret is
# refused at start, a sign-in, the token API, logout ending a copied cookie,
# a client Google disables (503, row unchanged), and the token API's latency.
# Run from the repository: bash scripts/operator-walk.sh
set -u
cargo build --release -q -p mailgrant-server
B=$(pwd)/target/release/mailgrant
D=$(mktemp -d); cd $D
pkill -f "mailgrant emulator" ; pkill -f "mailgrant serve"; sleep 0.5
$B emulator --listen 127.0.0.1:8091 --auto-approve --write-client-secrets cs.json --redirect-uri http://127.0.0.1:8092/oauth2callback > emu.log 2>&1 &
sleep 1
curl -s -X POST http://127.0.0.1:8091/emulator/users -H 'content-type: application/json' -d '{"email":"alice@example.com","messages":5}' > /dev/null
export MAILGRANT_USERINFO_URL=http://127.0.0.1:8091/oauth2/v2/userinfo MAILGRANT_REVOKE_URL=http://127.0.0.1:8091/revoke MAILGRANT_GMAIL_API_URL=http://127.0.0.1:8091/
KEY=operator-api-key-0123456789
# 1. A wrong secret: serve refuses to start.
sed 's/"client_secret": *"[^"]*"/"client_secret": "GOCSPX-wrong"/' cs.json > wrong.json
t0=$(date +%s%N); $B serve --client-secrets wrong.json --listen 127.0.0.1:8092 --public-url http://127.0.0.1:8092 > wrong.log 2>&1; echo "wrong secret: exit $? in $(( ($(date +%s%N)-t0)/1000000 )) ms: $(grep -o 'the OAuth client is rejected[^.]*' wrong.log | head -1)"
# 2. The right one: starts; time to /healthz.
t0=$(date +%s%N)
$B serve --client-secrets cs.json --listen 127.0.0.1:8092 --public-url http://127.0.0.1:8092 --api-key $KEY > serve.log 2>&1 &
until curl -s -o /dev/null http://127.0.0.1:8092/healthz; do sleep 0.02; done
echo "serve up (client checked with Google) in $(( ($(date +%s%N)-t0)/1000000 )) ms"
# 3. Sign in as a browser would.
J=jar.txt
L=$(curl -s -c $J -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:8092/oauth2/authorize?login_hint=alice@example.com")
C=$(curl -s -o /dev/null -w '%{redirect_url}' "$L")
curl -s -b $J -c $J -o /dev/null -w "callback %{http_code}\n" "$C"
curl -s -b $J -o /dev/null -w "api/messages %{http_code}\n" http://127.0.0.1:8092/api/messages
ID=$(curl -s -H "Authorization: Bearer $KEY" http://127.0.0.1:8092/v1/users | python3 -c 'import json,sys; print(json.load(sys.stdin)["users"][0]["id"])')
curl -s -o /dev/null -w "token API %{http_code}\n" -H "Authorization: Bearer $KEY" http://127.0.0.1:8092/v1/users/$ID/token
# 4. Logout ends the copied cookie too.
cp $J copied.txt
curl -s -b $J -o /dev/null -w "logout %{http_code}\n" -X POST http://127.0.0.1:8092/logout
curl -s -b copied.txt -o /dev/null -w "copied cookie after logout: %{http_code}\n" http://127.0.0.1:8092/api/messages
# 5. Google disables the client: 503, no row changed.
sqlite3 .mailgrant/mailgrant.db "UPDATE credentials SET access_token_expires_at = 0" 2>/dev/null || python3 -c "import sqlite3;c=sqlite3.connect('.mailgrant/mailgrant.db');c.execute('UPDATE credentials SET access_token_expires_at = 0');c.commit()"
before=$(python3 -c "import sqlite3;print(sqlite3.connect('.mailgrant/mailgrant.db').execute('select quote(refresh_token),revoked_at from credentials').fetchall())")
CID=$(python3 -c 'import json;print(json.load(open("cs.json"))["web"]["client_id"])')
curl -s -X POST http://127.0.0.1:8091/emulator/clients/$CID/status -H 'content-type: application/json' -d '{"status":"disabled"}' > /dev/null
curl -s -H "Authorization: Bearer $KEY" http://127.0.0.1:8092/v1/users/$ID/token; echo
after=$(python3 -c "import sqlite3;print(sqlite3.connect('.mailgrant/mailgrant.db').execute('select quote(refresh_token),revoked_at from credentials').fetchall())")
[ "$before" = "$after" ] && echo "row unchanged" || echo "ROW CHANGED"
curl -s -X POST http://127.0.0.1:8091/emulator/clients/$CID/status -H 'content-type: application/json' -d '{"status":"active"}' > /dev/null
curl -s -o /dev/null -w "client restored, token API %{http_code}\n" -H "Authorization: Bearer $KEY" http://127.0.0.1:8092/v1/users/$ID/token
grep -c "client.misconfigured\|rejects the OAuth client" serve.log | sed 's/^/alarm lines in the log: /'
grep -ci "GOCSPX\|ya29\|1//" serve.log | sed 's/^/secret-looking strings in the log: /'
# 6. Token API latency under the release binary (warm, cached token).
python3 - <<PY
import time, urllib.request, statistics
req = urllib.request.Request("http://127.0.0.1:8092/v1/users/$ID/token", headers={"Authorization": "Bearer $KEY"})
lat=[]
for _ in range(500):
    t=time.perf_counter(); urllib.request.urlopen(req).read(); lat.append((time.perf_counter()-t)*1000)
print(f"token API, 500 sequential calls: median {statistics.median(lat):.2f} ms, p99 {sorted(lat)[494]:.2f} ms")
PY
pkill -f "mailgrant serve"; pkill -f "mailgrant emulator"
