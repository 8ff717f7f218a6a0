FROM node:20-alpine AS frontend
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci
COPY ui/ .
RUN npm run build

FROM python:3.12-slim AS backend
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --from=fronted /ui/dist ./static
COPY . .
RUN useradd -m web
USER web
CMD ["python", "-m", "server"]
