#!/usr/bin/env bash
# Runs the official AdCP compliance storyboards (@adcp/sdk, pinned in
# compliance/package.json and package-lock.json) against a freshly built
# ingest, and fails when any step fails or a storyboard does not run.
#
#   bash compliance/run.sh [storyboard_id ...]   (usually through the stack:
#   go run ./infra/cmd/stack exec -- bash compliance/run.sh)
#
# Without arguments it runs the storyboards listed below; with arguments,
# just those (e.g. deterministic_testing while working on the controller).
#
# Postgres comes from TEST_DATABASE_URL (trust auth; default the local
# server) and NATS JetStream from TEST_NATS_URL. Each run gets its own
# database and topic prefix, both removed at the end. Reports land in
# .data/compliance/: <storyboard>.json (full runner result), .summary.json
# (the runner's stable summary contract), .log (its stderr) and ingest.log.
#
# The runner exits 0 even when steps fail, so the verdict comes from the
# summaries. Skipped steps are fine (tasks ingest does not implement, such as
# preview_creative and build_creative); failed steps are not.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The storyboards ingest must pass: ids of the pinned runner's, or paths of
# storyboard files kept in compliance/storyboards/. The pagination ones seed
# fixtures through comply_test_controller; deterministic_testing checks the
# controller itself, its account and creative phases included (its
# media-buy, session and delivery phases skip: ingest has no
# create_media_buy or SI tools). It runs from our copy, which backports
# 3.1.19's per-phase depends_on so the missing media-buy tools do not
# cascade into those phases (compliance/storyboards/SOURCE.md).
STORYBOARDS=(
	capability_discovery
	v3_envelope_integrity
	creative_sales_agent
	creative_lifecycle
	pagination_integrity
	pagination_integrity_creative_formats
	pagination_integrity_list_accounts
	compliance/storyboards/deterministic-testing.yaml
)
if (($# > 0)); then
	STORYBOARDS=("$@")
fi
# Storyboards that run as a buyer of their own (a fresh principal):
# pagination_integrity_list_accounts counts every account the caller has,
# and expects exactly the three it declares.
OWN_PRINCIPAL=(pagination_integrity_list_accounts)
# The storyboards' placeholder agent URL: their format_ids name it, so ingest
# accepts it as one of its own.
PLACEHOLDER_AGENT_URL=https://your-platform.example.com

PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
NATS=${TEST_NATS_URL:-nats://127.0.0.1:4222}
OUT=.data/compliance
INGEST=$OUT/ingest

log() { printf '== compliance: %s\n' "$*" >&2; }
die() {
	printf '== compliance: FAILED: %s\n' "$*" >&2
	exit 1
}

command -v node >/dev/null && command -v npm >/dev/null ||
	die "node and npm are needed for the AdCP compliance runner (@adcp/sdk)"
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n $PSQL ]] || die "psql is needed to create and drop the run's database"

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log

# ---- the pinned runner ---------------------------------------------------------
pinned=$(node -p 'require("./compliance/package.json").dependencies["@adcp/sdk"]')
installed=$(node -p 'try { require("./compliance/node_modules/@adcp/sdk/package.json").version } catch { "" }')
if [[ $installed != "$pinned" ]]; then
	log "installing @adcp/sdk $pinned from compliance/package-lock.json"
	npm ci --prefix compliance --no-audit --no-fund --loglevel=error >&2
fi

# ---- ingest, database, topic prefix -------------------------------------------
log "building ingest"
go build -o "$INGEST" ./services/ingest

run_id="$(date +%s)_$$_${RANDOM}"
DB="compliance_${run_id}"
export TOPIC_PREFIX="compliance_${run_id}_"
# Same server and parameters as PG_URL, our own database.
rest=${PG_URL#*://}
hostpart=${rest%%[/?]*}
query=""
[[ $rest == *\?* ]] && query="?${rest#*\?}"
export DATABASE_URL="${PG_URL%%://*}://${hostpart}/${DB}${query}"
export NATS_URL=$NATS
export LOG_LEVEL=warn

ingest_pid=""
cleanup() {
	local status=$?
	if [[ -n $ingest_pid ]] && kill -0 "$ingest_pid" 2>/dev/null; then
		kill -TERM "$ingest_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$ingest_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$ingest_pid" 2>/dev/null || true
		wait "$ingest_pid" 2>/dev/null || true
	fi
	if [[ ${db_created:-} == 1 ]]; then
		"$INGEST" admin delete-streams >/dev/null 2>&1 || log "could not delete the ${TOPIC_PREFIX}* streams"
		"$PSQL" -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 ||
			"$PSQL" -X -q "$PG_URL" -c "DROP DATABASE IF EXISTS \"$DB\"" >/dev/null 2>&1 ||
			log "could not drop database $DB"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "database $DB, topic prefix $TOPIC_PREFIX"
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE \"$DB\"" >/dev/null
db_created=1

# ---- provisioning ---------------------------------------------------------------
# One buyer principal (whose new accounts are active at once, the default
# policy). Accounts named by natural key come through the protocol: the
# storyboards declare theirs with sync_accounts, or name
# acmeoutdoor.example via pinnacle-agency.example in their first
# sync_creatives, which declares it. Only the two pagination storyboards
# name fixed account_ids (an explicit-account shape that no buyer call can
# create, since the seller assigns ids), so only those are made here:
#  - acct_pagination_integrity, the runner's sandbox account (brand and
#    operator test.example), which the controller calls name and
#    pagination_integrity lists by;
#  - acct_pagination_integrity_formats, the sandbox account
#    pagination_integrity_creative_formats lists formats for (a principal's
#    seeded formats form the catalog of all its sandbox accounts).
admin() { "$INGEST" admin "$@"; }
key=$(admin create-principal -id compliance -name "AdCP compliance runner" | tail -n 1)
[[ $key == sk_* ]] || die "create-principal did not print an API key"
admin create-account -principal compliance -id acct_pagination_integrity -name "Compliance sandbox" \
	-brand test.example -operator test.example -sandbox
admin create-account -principal compliance -id acct_pagination_integrity_formats -name "Compliance sandbox (formats)" -sandbox

# ---- ingest on a free port ----------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for attempt in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	port_in_use "$port" && continue
	# A compliance ingest is a sandbox deployment: the controller acts on
	# every account, as the storyboards expect (they force the status of a
	# creative synced into the production account acmeoutdoor.example).
	HTTP_ADDR="127.0.0.1:$port" SELLER_AGENT_URLS=$PLACEHOLDER_AGENT_URL SANDBOX_DEPLOYMENT=true LOG_LEVEL=info \
		"$INGEST" >"$OUT/ingest.log" 2>&1 &
	ingest_pid=$!
	for _ in $(seq 150); do
		grep -q '"msg":"ingest ready"' "$OUT/ingest.log" && break
		kill -0 "$ingest_pid" 2>/dev/null || break
		sleep 0.2
	done
	grep -q '"msg":"ingest ready"' "$OUT/ingest.log" && break
	kill "$ingest_pid" 2>/dev/null || true
	wait "$ingest_pid" 2>/dev/null || true
	ingest_pid=""
	grep -q 'address already in use' "$OUT/ingest.log" || break
done
[[ -n $ingest_pid ]] || die "ingest did not start; see $OUT/ingest.log:
$(tail -n 20 "$OUT/ingest.log")"
AGENT="http://127.0.0.1:$port/mcp"
log "ingest ready at $AGENT"

# ---- storyboards -------------------------------------------------------------
# --allow-http: the agent is local. The token goes through the environment,
# not the command line.
export ADCP_AUTH_TOKEN=$key ADCP_SKIP_VERSION_CHECK=1 CI=${CI:-true}
verdict=0
for sb in "${STORYBOARDS[@]}"; do
	# A path names a storyboard file kept in compliance/storyboards/ (run
	# with --file); its id is the file's own.
	source_args=("$sb")
	if [[ $sb == *.yaml ]]; then
		source_args=(--file "$sb")
		sb=$(sed -n 's/^id: *//p' "$sb" | head -n 1)
	fi
	rm -f "$OUT/$sb.summary.json"
	token=$key
	if [[ " ${OWN_PRINCIPAL[*]} " == *" $sb "* ]]; then
		token=$(admin create-principal -id "compliance_$sb" -name "AdCP compliance runner ($sb)" | tail -n 1)
		[[ $token == sk_* ]] || die "create-principal did not print an API key for $sb"
	fi
	ADCP_AUTH_TOKEN=$token npx --prefix compliance --no-install adcp storyboard run "$AGENT" "${source_args[@]}" --allow-http --json \
		--summary-output "$OUT/$sb.summary.json" >"$OUT/$sb.json" 2>"$OUT/$sb.log" </dev/null || true
	# One line per storyboard; a non-zero exit marks it as failed or not run.
	if ! line=$(node - "$sb" "$OUT/$sb.summary.json" "$OUT/$sb.json" <<-'EOF'
		// A storyboard run by id writes the runner's summary; one run from a
		// file (--file) only its result, whose counts say the same.
		const [sb, file, result] = process.argv.slice(2);
		const fs = require('fs');
		let s;
		try { s = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) {
			try {
				const r = JSON.parse(fs.readFileSync(result, 'utf8'));
				const failures = [];
				for (const ph of r.phases || []) for (const st of ph.steps || [])
					if (!st.passed && !st.skipped) failures.push({ step_id: st.step_id, reason: st.error || 'validation failed' });
				s = { passed: r.passed_count, failed: r.failed_count, skipped: r.skipped_count, failures,
					storyboards_executed: r.storyboard_id === sb ? [sb] : [], overall_status: r.overall_passed ? 'passing' : 'failing' };
			} catch (e2) {
				console.log(`${sb}: did not run (no summary: ${e.message})`); process.exit(1);
			}
		}
		const line = `${sb}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
		if (s.failed > 0) {
			console.log(line);
			const fs = s.failures || [];
			for (const f of fs.slice(0, 20)) console.log(`    ${f.step_id}: ${f.reason}`);
			if (fs.length > 20) console.log(`    … ${fs.length - 20} more`);
			process.exit(1);
		}
		if (!(s.storyboards_executed || []).includes(sb) || s.passed === 0) {
			console.log(`${line} (did not run: ${s.overall_status})`);
			process.exit(1);
		}
		console.log(line);
	EOF
	); then
		verdict=1
	fi
	printf '%s\n' "$line"
done

if ((verdict != 0)); then
	die "see $OUT/<storyboard>.json and .log"
fi
log "all storyboards passed"
