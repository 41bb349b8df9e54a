"""The teacher's side of `netstep serve`: what the class has done, read from each student's own store."""
