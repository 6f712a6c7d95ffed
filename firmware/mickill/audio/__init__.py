"""The audio side of mickill: the offline knock-to-talk gate and the masking-noise actuator.

Audio is analysed in memory only, in bounded buffers; only detections (time, kind, score) leave.
"""
