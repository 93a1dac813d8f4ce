# attaudit API and worker image (one image, two commands; see docker-compose.yml).
# Dependencies are pinned in docker/requirements.lock (the tested environment); NLTK data
# is baked in at build time so TextAttack imports offline at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    NLTK_DATA=/usr/local/share/nltk_data \
    ATTAUDIT_DATA_DIR=/var/lib/attaudit \
    ATTAUDIT_STORAGE_DIR=/var/lib/attaudit/storage

RUN apt-get update \
    && apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY docker/requirements.lock /app/docker/requirements.lock
RUN pip install -r docker/requirements.lock
RUN python -m nltk.downloader -d "$NLTK_DATA" stopwords wordnet omw-1.4 punkt punkt_tab \
        averaged_perceptron_tagger averaged_perceptron_tagger_eng universal_tagset

COPY pyproject.toml README.md /app/
COPY common /app/common
COPY infra /app/infra
COPY attribution /app/attribution
COPY attacks /app/attacks
COPY pipeline /app/pipeline
COPY jobs /app/jobs
COPY service /app/service
COPY workers /app/workers
COPY attaudit /app/attaudit
RUN pip install --no-deps . \
    && useradd --uid 10001 --create-home attaudit \
    && mkdir -p /var/lib/attaudit/storage && chown -R attaudit /var/lib/attaudit

USER attaudit
EXPOSE 8000
CMD ["attaudit", "serve", "--host", "0.0.0.0", "--port", "8000"]
