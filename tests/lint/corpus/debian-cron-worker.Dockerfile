FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends cron=3.0pl1-162 python3=3.11.2-1+b1 \
    && rm -rf /var/lib/apt/lists/*
COPY crontab /etc/cron.d/jobs
COPY jobs/ /opt/jobs/
RUN chmod 0644 /etc/cron.d/jobs && crontab /etc/cron.d/jobs
CMD cron && tail -f /var/log/cron.log
