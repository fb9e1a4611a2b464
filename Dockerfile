# Multi-stage build: compile in the Rust image, run from a slim Debian as a non-root user.
# Pure-Rust TLS (rustls) everywhere, so the runtime needs only CA certificates.
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin bbb-connector

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/bbb-connector --create-home bbb
COPY --from=builder /src/target/release/bbb-connector /usr/local/bin/bbb-connector
COPY config.example.toml /etc/bbb-connector/config.example.toml
USER bbb
WORKDIR /var/lib/bbb-connector
# Listen on every interface inside the container; the SQLite default lands in the working
# directory (mount a volume there), or set BBB_CONNECTOR_DATABASE_URL to PostgreSQL.
ENV BBB_CONNECTOR_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD curl -fsS http://127.0.0.1:8080/healthz >/dev/null || exit 1
ENTRYPOINT ["bbb-connector"]
CMD ["serve"]
