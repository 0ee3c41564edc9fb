# syntax=docker/dockerfile:1
# Sesame as a static, non-root image with a health check.
#   docker build -t sesame .
#   docker build --build-arg VERSION=v1.2.3 -t sesame:v1.2.3 .
# The binary is built by scripts/build.sh, the script CI runs too.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN VERSION="$VERSION" scripts/build.sh /out/sesame \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sesame /sesame
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
# Listen on every interface inside the container; the embedded database lives
# in the /data volume (use --database postgres://… for several replicas).
ENV SESAME_LISTEN=0.0.0.0:8080 \
    SESAME_DATABASE=sqlite:/data/sesame.db
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/sesame", "healthcheck"]
ENTRYPOINT ["/sesame"]
CMD ["serve"]
