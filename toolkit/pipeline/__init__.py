"""The end-to-end runs a user asks for: train (fit, score, save) and the TrainedModel it returns; streamed prediction."""
