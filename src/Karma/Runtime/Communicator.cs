using System.Runtime.InteropServices;

namespace Karma.Runtime;

/// <summary>
/// The few collective operations data-parallel training needs, between the processes of one job: who am I (rank), how
/// many are we (size), send rank 0's values to all, and sum values across all in place. <see cref="Communicator.Current"/> is the
/// single-process communicator unless the process was started by an MPI launcher (<c>mpirun</c>, Slurm's <c>srun</c>,
/// a Kubeflow MPIJob), in which case it is <see cref="MpiCommunicator"/> over Open MPI.
/// </summary>
public interface ICommunicator
{
    /// <summary>This process's number, 0 … Size − 1; rank 0 writes logs and checkpoints.</summary>
    int Rank { get; }
    /// <summary>Number of processes in the job.</summary>
    int Size { get; }
    /// <summary>Replaces <paramref name="values"/> on every rank by rank 0's.</summary>
    void Broadcast(Span<float> values);
    /// <summary>Replaces <paramref name="values"/> on every rank by their sum over all ranks.</summary>
    void SumInPlace(Span<float> values);
}

/// <summary>The communicator of a process that runs alone: rank 0 of 1, every operation the identity.</summary>
public sealed class SingleProcess : ICommunicator
{
    /// <summary>The one instance.</summary>
    public static SingleProcess Instance { get; } = new();
    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int Size => 1;
    /// <inheritdoc/>
    public void Broadcast(Span<float> values) { }
    /// <inheritdoc/>
    public void SumInPlace(Span<float> values) { }
}

/// <summary>Chooses the job's communicator once per process.</summary>
public static class Communicator
{
    static ICommunicator? current;

    /// <summary>
    /// The communicator of this process: MPI when an MPI launcher started it with more than one process
    /// (<c>OMPI_COMM_WORLD_SIZE</c>, <c>PMI_SIZE</c> or <c>PMIX_SIZE</c>… above 1), otherwise <see cref="SingleProcess"/>.
    /// </summary>
    public static ICommunicator Current => current ??= Choose();

    /// <summary>Replaces the communicator (tests).</summary>
    public static void Use(ICommunicator communicator) => current = communicator;

    static ICommunicator Choose()
    {
        foreach (var variable in new[] { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MV2_COMM_WORLD_SIZE" })
            if (int.TryParse(Environment.GetEnvironmentVariable(variable), out int size) && size > 1)
                return MpiCommunicator.Start();
        return SingleProcess.Instance;
    }
}

/// <summary>
/// MPI through a small P/Invoke layer over Open MPI's <c>libmpi.so.40</c> (Debian's <c>libopenmpi3</c>): MPI_Init,
/// MPI_Comm_rank/size, MPI_Bcast, MPI_Allreduce with MPI_IN_PLACE, MPI_Finalize at exit. Open MPI's handles
/// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM) are addresses of exported globals, read with <see cref="NativeLibrary.GetExport"/>.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    readonly nint world, floatType, sum;
    readonly delegate* unmanaged<void*, int, nint, int, nint, int> bcast;
    readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> allreduce;

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Size { get; }

    MpiCommunicator(nint library)
    {
        var init = (delegate* unmanaged<int*, byte***, int>)NativeLibrary.GetExport(library, "MPI_Init");
        var rank = (delegate* unmanaged<nint, int*, int>)NativeLibrary.GetExport(library, "MPI_Comm_rank");
        var size = (delegate* unmanaged<nint, int*, int>)NativeLibrary.GetExport(library, "MPI_Comm_size");
        var finalize = (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "MPI_Finalize");
        bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)NativeLibrary.GetExport(library, "MPI_Bcast");
        allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)NativeLibrary.GetExport(library, "MPI_Allreduce");
        world = NativeLibrary.GetExport(library, "ompi_mpi_comm_world");
        floatType = NativeLibrary.GetExport(library, "ompi_mpi_float");
        sum = NativeLibrary.GetExport(library, "ompi_mpi_op_sum");
        Check(init(null, null), "MPI_Init");
        int r, s;
        Check(rank(world, &r), "MPI_Comm_rank");
        Check(size(world, &s), "MPI_Comm_size");
        (Rank, Size) = (r, s);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => finalize();
    }

    /// <summary>Loads Open MPI and joins the job; a missing library is an error that says what to install.</summary>
    public static MpiCommunicator Start()
    {
        if (!NativeLibrary.TryLoad("libmpi.so.40", out var library) && !NativeLibrary.TryLoad("libmpi.so", out library))
            throw new KarmaException("This process was started by an MPI launcher but Open MPI's libmpi.so.40 is not installed; install openmpi-bin and libopenmpi3 (Debian) or run without mpirun.");
        return new MpiCommunicator(library);
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> values)
    {
        for (int at = 0; at < values.Length; at += int.MaxValue / 4)
        {
            var part = values.Slice(at, Math.Min(int.MaxValue / 4, values.Length - at));
            fixed (float* p = part) Check(bcast(p, part.Length, floatType, 0, world), "MPI_Bcast");
        }
    }

    /// <inheritdoc/>
    public void SumInPlace(Span<float> values)
    {
        for (int at = 0; at < values.Length; at += int.MaxValue / 4)
        {
            var part = values.Slice(at, Math.Min(int.MaxValue / 4, values.Length - at));
            fixed (float* p = part) Check(allreduce((void*)1 /* MPI_IN_PLACE */, p, part.Length, floatType, sum, world), "MPI_Allreduce");
        }
    }

    static void Check(int code, string call)
    {
        if (code != 0) throw new KarmaException($"{call} failed with MPI error {code}.");
    }
}
