"""Operations: the jobs, schedule, sensors and monitoring checks that run the stages (`defs.py`)."""
