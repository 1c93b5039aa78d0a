# syntax=docker/dockerfile:1
# ksink: built on Debian 12 (bookworm) with only the build dependencies
# (scripts/deps.sh build: compiler and -dev libraries, no test toolchain),
# run on a slim Debian 12 with only the runtime libraries, as the fixed
# non-root user ksink (UID/GID 10001, the runAsUser/runAsGroup of
# deploy/k8s). The config is read from /etc/ksink/ksink.yaml (mount your
# own over it; deploy/k8s does); /healthz answers on http.listen, which must
# not be loopback-only for the HEALTHCHECK and for Prometheus: the shipped
# example is overridden below to 0.0.0.0:8083. Off loopback ksink requires
# http.admin_token, so the image's config takes it from the environment
# (${KSINK_ADMIN_TOKEN}, no default: ksink refuses to start without it).
# Give it from a secret, never on the command line:
#   docker run --env-file ksink-admin.env ksink      (KSINK_ADMIN_TOKEN=...)
# (Kubernetes: deploy/k8s fills it from the Secret "ksink-admin".)
#
#   docker build --build-arg KS_GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t ksink .
#   docker run --rm ksink demo            # writes /var/lib/ksink/lake
#   docker run --rm ksink --version
FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN ./scripts/deps.sh build
COPY CMakeLists.txt ./
COPY cmake cmake
COPY base base
COPY jsonschema jsonschema
COPY reactor reactor
COPY stages stages
COPY storage storage
COPY conf conf
COPY http http
COPY demo demo
COPY cli cli
COPY doc doc
COPY deploy/systemd deploy/systemd
COPY README.md README.md
# .dockerignore keeps .git out: the commit comes in as a build argument
ARG KS_GIT_COMMIT=unknown
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKS_TESTS=OFF -DKS_BENCH=OFF \
      -DKS_GIT_COMMIT="${KS_GIT_COMMIT}" \
 && cmake --build build -j"$(nproc)" \
 && DESTDIR=/out cmake --install build --prefix /usr --strip

FROM debian:12-slim
ARG KS_UID=10001
ARG KS_GID=10001
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libuv1 libh2o0.13 libyajl2 libcurl4 libzstd1 libsnappy1v5 \
      libssl3 libyaml-0-2 libpcre2-8-0 zlib1g ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid "${KS_GID}" ksink \
 && useradd --system --uid "${KS_UID}" --gid "${KS_GID}" --home-dir /var/lib/ksink \
      --shell /usr/sbin/nologin ksink \
 && mkdir -p /var/lib/ksink /etc/ksink \
 && chown "${KS_UID}:${KS_GID}" /var/lib/ksink
COPY --from=build /out/usr/bin/ksink /usr/bin/ksink
COPY --from=build /out/usr/share/man/man1/ksink.1 /usr/share/man/man1/ksink.1
COPY conf/ksink.yaml /etc/ksink/ksink.yaml
COPY conf/schemas /etc/ksink/schemas
RUN sed -i -e 's#listen: 127.0.0.1:8083#listen: 0.0.0.0:8083#' \
      -e 's#admin_token: ${KSINK_ADMIN_TOKEN:-}#admin_token: ${KSINK_ADMIN_TOKEN}#' \
      /etc/ksink/ksink.yaml \
 && grep -q '^  listen: 0.0.0.0:8083' /etc/ksink/ksink.yaml \
 && grep -q '^  admin_token: ${KSINK_ADMIN_TOKEN}' /etc/ksink/ksink.yaml
# `ksink demo` (and a relative --dir) writes here
WORKDIR /var/lib/ksink
USER 10001:10001
EXPOSE 8083
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8083/healthz >/dev/null || exit 1
ENTRYPOINT ["/usr/bin/ksink"]
CMD ["run", "-c", "/etc/ksink/ksink.yaml"]
