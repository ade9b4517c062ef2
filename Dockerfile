# Multi-stage build: a Rust toolchain to build, a slim Debian to run.
# Untested on our build machines (they run no Docker engine); see README.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY config ./config
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/mfa-gateway

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/mfa-gateway --create-home mfa-gateway
COPY --from=build /src/target/release/mfa-gateway /usr/local/bin/mfa-gateway
COPY config/examples /etc/mfa-gateway/examples
USER mfa-gateway
WORKDIR /var/lib/mfa-gateway
# Mount your configuration here (and certificates/secrets beside it).
ENV MFA_CONFIG=/etc/mfa-gateway/gateway.yaml \
    MFA_LISTEN=0.0.0.0:8080 \
    MFA_ADMIN_LISTEN=0.0.0.0:9090 \
    MFA_DATA_DIR=/var/lib/mfa-gateway
EXPOSE 8080 9090
VOLUME ["/var/lib/mfa-gateway"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mfa-gateway"]
CMD ["serve"]
