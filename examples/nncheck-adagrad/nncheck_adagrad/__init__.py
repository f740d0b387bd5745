"""An example nncheck option plugin: AdaGrad, with its own probes, reference, diagnoses and option."""
