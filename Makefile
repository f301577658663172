# Targets for developers and CI (.ci/run runs `make lint test`).

GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# apt-get needs root; use sudo only when we are not root already.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: test build lint staticcheck bench redis-server

# The store tests start real redis-server processes; a missing binary fails
# them, so install it first.
test: redis-server
	$(GO) test -race -count=1 -timeout 10m ./...

build:
	$(GO) build -o bin/claimsctl .

lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Separate from lint because it downloads staticcheck on first use.
staticcheck:
	$(GO) run $(STATICCHECK) ./...

bench: redis-server
	./.ci/bench

redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "redis-server not found; installing redis-server and redis-tools with apt-get"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools; \
	}
	@command -v redis-server >/dev/null 2>&1 || { echo "redis-server still not on PATH"; exit 1; }
	@redis-server --version
