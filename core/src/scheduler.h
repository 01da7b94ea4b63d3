/*
 * scheduler.h — the scheduler thread: batches in order, on the clock (scheduler.c).
 */
#ifndef SLUICE_SCHEDULER_H
#define SLUICE_SCHEDULER_H

/* The scheduler thread's body. */
void *sl__scheduler_main(void *arg);

#endif /* SLUICE_SCHEDULER_H */
