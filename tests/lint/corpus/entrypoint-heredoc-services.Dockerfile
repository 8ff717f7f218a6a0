# syntax=docker/dockerfile:1.4
FROM python:3.12-slim-bookworm
RUN pip install --no-cache-dir gunicorn==22.0.0 celery==5.4.0
COPY <<EOF /start.sh
#!/bin/sh
celery -A app worker &
exec gunicorn app:app --bind 0.0.0.0:8000
EOF
COPY app/ /app/
WORKDIR /app
RUN chmod +x /start.sh && useradd -r app
USER app
EXPOSE 8000
CMD ["/start.sh"]
