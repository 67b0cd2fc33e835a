using System.CommandLine;
using System.Text.Json;
using Karma.Runtime;

namespace Karma.Cli.Commands;

/// <summary>
/// <c>karma mpi-check</c>: checks a data-parallel setup before a long run. Every rank sums known vectors across the job
/// and broadcasts rank 0's, and prints one JSON line with what it got, so <c>mpirun -np N karma mpi-check</c> shows at
/// once whether Open MPI is found, how many ranks there are, and whether the collectives work.
/// </summary>
static class MpiCheckCommand
{
    public static Command Create()
    {
        var command = new Command("mpi-check", "Check MPI: each rank reports its rank, the job's size, an all-reduce of known vectors and a broadcast (one JSON line per rank).");
        KarmaCli.SetRun(command, _ =>
        {
            var communicator = Communicator.Current;
            int r = communicator.Rank, n = communicator.Size;
            // Rank r contributes (r+1)·(1, 2, 3, 4): the sum is n(n+1)/2 · (1, 2, 3, 4) on every rank.
            float[] summed = [1f * (r + 1), 2f * (r + 1), 3f * (r + 1), 4f * (r + 1)];
            communicator.SumInPlace(summed);
            float[] broadcast = [r == 0 ? 42f : -1f, 10f * r];
            communicator.Broadcast(broadcast);
            float expected = n * (n + 1) / 2f;
            bool ok = summed.SequenceEqual([expected, 2 * expected, 3 * expected, 4 * expected]) && broadcast.SequenceEqual([42f, 0f]);
            Console.Out.WriteLine(JsonSerializer.Serialize(new { rank = r, size = n, implementation = communicator.GetType().Name, summed, broadcast, ok }));
            return ok ? 0 : 1;
        }, needsTorch: false);
        return command;
    }
}
