# bbb-connector image: built in the pinned Rust image, run from Debian slim as a non-root user.
# Pure-Rust TLS (rustls) everywhere, so the runtime needs only the CA certificates.
#
#   docker build -t bbb-connector .
#   docker run -d --name bbb -p 127.0.0.1:8080:8080 \
#       -v /srv/bbb-connector/config.toml:/etc/bbb-connector/config.toml:ro \
#       -v bbb-connector-data:/var/lib/bbb-connector bbb-connector
#
# No configuration is baked in: the service reads /etc/bbb-connector/config.toml, and refuses to
# start (exit 2) until one is mounted there. docs/operators.md says more.

FROM rust:1.95.0-bookworm AS builder
WORKDIR /src

# Dependencies first, on placeholder sources, in a layer of their own: it is rebuilt only when
# Cargo.toml or Cargo.lock change, not at every change of the code.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src/bin/bench \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > src/bin/bench/main.rs \
    && cargo build --release --locked --bin bbb-connector \
    && rm -rf src target/release/.fingerprint/bbb-connector-* target/release/deps/bbb_connector-* \
        target/release/deps/libbbb_connector-* target/release/bbb-connector*

# The service itself (the release profile strips the binary). The placeholders' fingerprints are
# gone, so the copied sources are compiled whatever their timestamps.
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin bbb-connector \
    && ./target/release/bbb-connector --version

FROM debian:bookworm-slim
# Set at build time, e.g. --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%FT%TZ).
ARG VERSION=0.1.0
ARG REVISION=""
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="bbb-connector" \
      org.opencontainers.image.description="BigBlueButton rendezvous for Publik w.c.s. workflows (a Passerelle-compatible connector)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bbb-connector \
    && useradd --system --uid 10001 --gid bbb-connector --no-create-home \
        --home-dir /var/lib/bbb-connector --shell /usr/sbin/nologin bbb-connector \
    && install -d -o bbb-connector -g bbb-connector -m 0700 /var/lib/bbb-connector \
    && install -d -m 0755 /etc/bbb-connector
COPY --from=builder /src/target/release/bbb-connector /usr/local/bin/bbb-connector
# For reference only; the live configuration is the one mounted at /etc/bbb-connector/config.toml.
COPY config.example.toml /usr/share/doc/bbb-connector/config.example.toml

# The SQLite database lives on the volume. These variables win over the configuration file:
# for PostgreSQL, run with -e BBB_CONNECTOR_DATABASE_URL=postgres://... (not database_url).
ENV BBB_CONNECTOR_CONFIG=/etc/bbb-connector/config.toml \
    BBB_CONNECTOR_DATABASE_URL=sqlite:///var/lib/bbb-connector/bbb-connector.db \
    BBB_CONNECTOR_LISTEN=0.0.0.0:8080
VOLUME /var/lib/bbb-connector
WORKDIR /var/lib/bbb-connector
USER 10001:10001
EXPOSE 8080

# GET http://127.0.0.1:8080/healthz from the binary itself: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["bbb-connector", "healthcheck"]
ENTRYPOINT ["bbb-connector"]
CMD ["serve"]
