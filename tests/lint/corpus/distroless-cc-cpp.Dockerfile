FROM gcc:13 AS build
WORKDIR /src
COPY . .
RUN make release

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/build/server /server
ENTRYPOINT ["/server"]
