FROM continuumio/miniconda3
WORKDIR /opt/model
COPY environment.yml .
RUN conda env create -f environment.yml && conda clean -afy
SHELL ["conda", "run", "-n", "model", "/bin/bash", "-c"]
RUN pip install torch==2.3.1 --index-url https://download.pytorch.org/whl/cpu
COPY model/ ./model/
COPY serve.py .
EXPOSE 8501
ENTRYPOINT ["conda", "run", "--no-capture-output", "-n", "model", "python", "serve.py"]
