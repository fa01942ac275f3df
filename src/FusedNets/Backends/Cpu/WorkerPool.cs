using System.Diagnostics;

namespace FusedNets.Backends.Cpu;

/// <summary>
/// A fixed set of threads that run one job together, the caller being thread 0. A job is a sequence of
/// phases separated by <see cref="Barrier"/>; each thread picks its share of a phase from its index, so
/// which thread computes what never depends on timing. Nothing is allocated per job.
/// </summary>
/// <remarks>
/// Between jobs, workers spin for a short while (training calls come back to back) and then sleep on a
/// semaphore, so an idle network does not burn cores.
/// </remarks>
internal sealed class WorkerPool : IDisposable
{
    // How long an idle worker keeps spinning before it sleeps: long enough to cover the caller's work
    // between two training steps (copying a batch), short enough not to hold a core when the caller stops.
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    private readonly Thread[] _workers;
    private readonly SemaphoreSlim[] _wakeUps;
    private readonly int[] _sleeping;
    private Action<int>? _job;
    private int _jobGeneration;
    private int _barrierRemaining;
    private int _barrierGeneration;
    private volatile bool _disposed;
    private bool _joined;

    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        Threads = threads;
        _barrierRemaining = threads;
        _workers = new Thread[threads - 1];
        _wakeUps = new SemaphoreSlim[threads - 1];
        _sleeping = new int[threads - 1];
        for (int w = 0; w < _workers.Length; w++)
        {
            _wakeUps[w] = new SemaphoreSlim(0);
            int index = w;
            _workers[w] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"FusedNets CPU worker {w + 1}" };
            _workers[w].Start();
        }
    }

    /// <summary>Threads taking part in every job, the caller included.</summary>
    public int Threads { get; }

    /// <summary>Runs <paramref name="job"/>(thread index) on every thread and returns when all have finished.</summary>
    public void Run(Action<int> job)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _job = job;
        Interlocked.Increment(ref _jobGeneration);
        WakeSleepers();
        job(0);
        Barrier();
        _job = null;
    }

    /// <summary>Waits until every thread of the running job has arrived here.</summary>
    public void Barrier()
    {
        if (Threads == 1)
        {
            return;
        }

        // Read the generation before arriving: once the last thread arrives it moves on, and any
        // thread that has not yet looked would otherwise wait for the generation after.
        int generation = Volatile.Read(ref _barrierGeneration);
        if (Interlocked.Decrement(ref _barrierRemaining) == 0)
        {
            _barrierRemaining = Threads;
            Volatile.Write(ref _barrierGeneration, generation + 1);
            return;
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref _barrierGeneration) == generation)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    public void Dispose()
    {
        if (_joined)
        {
            return;
        }

        Stop();
        _joined = true;
        foreach (Thread worker in _workers)
        {
            worker.Join();
        }

        foreach (SemaphoreSlim wakeUp in _wakeUps)
        {
            wakeUp.Dispose();
        }
    }

    /// <summary>
    /// Tells the workers to end, without waiting for them: for an owner collected without being disposed,
    /// whose finalizer must not block. The threads hold only the pool, so they end and it is collected.
    /// </summary>
    public void Stop()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Interlocked.Increment(ref _jobGeneration);
        WakeSleepers();
    }

    private void WakeSleepers()
    {
        for (int w = 0; w < _workers.Length; w++)
        {
            if (Interlocked.Exchange(ref _sleeping[w], 0) == 1)
            {
                _wakeUps[w].Release();
            }
        }
    }

    private void WorkerLoop(int worker)
    {
        int seen = 0;
        while (true)
        {
            seen = WaitForJob(worker, seen);
            if (_disposed)
            {
                return;
            }

            RunJob(worker + 1);
            Barrier();
        }
    }

    // Its own frame, so no slot of the worker's loop keeps the job (and the engine it belongs to) reachable
    // between jobs: an engine never disposed must still be collectable, which is what stops its workers.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void RunJob(int thread) => _job!(thread);

    private int WaitForJob(int worker, int seen)
    {
        long sleepAt = Stopwatch.GetTimestamp() + SpinTicks;
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _jobGeneration) == seen)
        {
            if (Stopwatch.GetTimestamp() < sleepAt)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            // Announce the sleep with a full fence, then look again: a job published in between is
            // either seen here, or its publisher sees the flag and releases the semaphore.
            Interlocked.Exchange(ref _sleeping[worker], 1);
            if (Volatile.Read(ref _jobGeneration) != seen)
            {
                if (Interlocked.Exchange(ref _sleeping[worker], 0) == 0)
                {
                    _wakeUps[worker].Wait(); // the publisher already released it: consume that release
                }

                break;
            }

            _wakeUps[worker].Wait();
        }

        return Volatile.Read(ref _jobGeneration);
    }
}
