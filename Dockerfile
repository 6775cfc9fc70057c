# syntax=docker/dockerfile:1
# One image with the six service binaries and the all-in-one `shop`; the Helm chart picks the
# binary per Deployment (`command: ["/usr/local/bin/order-svc"]`, …).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        --bin user-svc --bin order-svc --bin payment-svc \
        --bin stock-svc --bin delivery-svc --bin notify-svc --bin shop \
    && mkdir -p /out \
    && cp target/release/user-svc target/release/order-svc target/release/payment-svc \
          target/release/stock-svc target/release/delivery-svc target/release/notify-svc \
          target/release/shop /out/

# glibc, CA certificates and a non-root user (65532), no shell: the binaries are all it runs.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
ENV SHOP_HOST=0.0.0.0 \
    SHOP_LOG_FORMAT=json
EXPOSE 8081 8082 8083 8084 8085 8086
ENTRYPOINT ["/usr/local/bin/shop"]
