# syntax=docker/dockerfile:1
FROM ghcr.io/astral-sh/uv:0.4.18 AS uv
FROM python:3.12-slim-bookworm AS build
COPY --from=uv /uv /bin/uv
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-install-project --no-dev
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev

FROM gcr.io/distroless/python3-debian12:nonroot
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH"
WORKDIR /app
ENTRYPOINT ["python", "-m", "service"]
