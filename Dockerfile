# The readiness container image, built from the release binary that
# goreleaser produced (dist/), on a minimal, non-root base. Release builds run
# it through docker buildx for linux/amd64 and linux/arm64; see
# .github/workflows/release.yml. Locally:
#   goreleaser build --snapshot --clean && docker buildx build --platform linux/amd64 .
#
# The image holds readiness alone. Gates that execute other tools (trivy for
# image-scan, your test runners for tests) fail closed with a clear error
# unless you build an image on top of this one that adds them.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
ARG TARGETOS
ARG TARGETARCH
COPY dist/readiness_${TARGETOS}_${TARGETARCH}*/readiness /usr/local/bin/readiness
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/readiness"]
CMD ["check"]
