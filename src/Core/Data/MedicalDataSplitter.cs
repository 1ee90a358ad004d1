namespace FedTune.Core.Data;

/// <summary>
/// Deterministic, seeded division of Alpaca records into PUBLIC, EVALUATION and per-hospital train/held-out parts.
/// Exact duplicates are removed first and every later step assigns each remaining record to exactly one part, so
/// the parts are disjoint by construction. Same records + same options ⇒ the same split, on every machine.
/// </summary>
public static class MedicalDataSplitter
{
    public static MedicalDataSplit Split(IEnumerable<AlpacaRecord> records, MedicalSplitOptions options)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var unique = new List<AlpacaRecord>();
        var seen = new HashSet<AlpacaRecord>();
        var duplicates = 0;
        foreach (var record in records)
        {
            if (seen.Add(record))
            {
                unique.Add(record);
            }
            else
            {
                duplicates++;
            }
        }

        var specialties = MedicalSpecialtyClassifier.ClassifyAll(unique);
        var random = new Random(options.Seed);
        Shuffle(unique, random);

        var publicPart = options.PublicPart;
        int generalCount = unique.Count(r => specialties[r] == MedicalSpecialty.General);
        if (publicPart == PublicPartSelection.GeneralMedicine && (generalCount == 0 || generalCount == unique.Count))
        {
            publicPart = PublicPartSelection.Random;
        }

        List<AlpacaRecord> publicRecords, rest;
        if (publicPart == PublicPartSelection.GeneralMedicine)
        {
            publicRecords = unique.Where(r => specialties[r] == MedicalSpecialty.General).ToList();
            rest = unique.Where(r => specialties[r] != MedicalSpecialty.General).ToList();
        }
        else
        {
            var publicCount = (int)Math.Round(unique.Count * options.PublicFraction);
            publicRecords = unique.Take(publicCount).ToList();
            rest = unique.Skip(publicCount).ToList();
        }

        var evaluationCount = Math.Min(rest.Count, (int)Math.Round(unique.Count * options.EvaluationFraction));
        var evaluation = rest.Take(evaluationCount).ToList();
        var pool = rest.Skip(evaluationCount).ToList();
        if (pool.Count < options.HospitalCount)
        {
            throw new ArgumentException(
                $"Only {pool.Count} records remain for {options.HospitalCount} hospitals after the public and evaluation splits: " +
                "use more records, fewer hospitals or smaller public/evaluation fractions.");
        }

        var held = new List<MedicalSpecialty>[options.HospitalCount];
        var assignment = options.Partitioning switch
        {
            HospitalPartitioning.Iid => DealIid(pool, options.HospitalCount),
            HospitalPartitioning.ByTopic => DealByTopic(pool, options.HospitalCount, random),
            HospitalPartitioning.DirichletByTopic => DealDirichlet(pool, options.HospitalCount, options.DirichletAlpha, random),
            HospitalPartitioning.BySpecialty => DealBySpecialty(pool, options.HospitalCount, specialties, random, held),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Partitioning, "Unknown partitioning."),
        };

        var hospitals = new List<HospitalShard>(options.HospitalCount);
        for (int h = 0; h < options.HospitalCount; h++)
        {
            var own = assignment[h];
            if (own.Count == 0)
            {
                throw new ArgumentException(
                    $"Hospital {h + 1} received no records with {options.Partitioning} (alpha {options.DirichletAlpha}): " +
                    "use fewer hospitals, a larger Dirichlet alpha, or IID partitioning.");
            }

            Shuffle(own, new Random(unchecked(options.Seed * 31 + h + 1)));
            var heldOut = own.Count < 2 ? 0 : Math.Max(options.HospitalHeldOutFraction > 0 ? 1 : 0,
                (int)Math.Round(own.Count * options.HospitalHeldOutFraction));
            hospitals.Add(new HospitalShard(h, $"hospital-{h + 1}", own.Skip(heldOut).ToList(), own.Take(heldOut).ToList())
            {
                Specialties = held[h] ?? [],
            });
        }

        return new MedicalDataSplit(publicRecords, evaluation, hospitals, duplicates, options)
        {
            EvaluationSpecialties = evaluation.Select(r => specialties[r]).ToList(),
            PublicPartUsed = publicPart,
        };
    }

    /// <summary>
    /// Specialty s goes to hospital s mod H when there are at most as many hospitals as specialties; with more, hospital
    /// h holds specialty h mod K and a specialty's topics are dealt (largest first) to the smallest of its hospitals.
    /// General-medicine topics in the pool go whole to the smallest hospital.
    /// </summary>
    private static List<AlpacaRecord>[] DealBySpecialty(List<AlpacaRecord> pool, int hospitals, Dictionary<AlpacaRecord, MedicalSpecialty> specialties,
        Random random, List<MedicalSpecialty>[] held)
    {
        var buckets = NewBuckets(hospitals);
        var list = MedicalSpecialtyClassifier.Specialties;
        for (int h = 0; h < hospitals; h++) held[h] = [];
        var holders = new Dictionary<MedicalSpecialty, int[]>();
        for (int s = 0; s < list.Count; s++)
        {
            holders[list[s]] = hospitals > list.Count
                ? Enumerable.Range(0, hospitals).Where(h => h % list.Count == s).ToArray()
                : [s % hospitals];
            foreach (var h in holders[list[s]]) held[h].Add(list[s]);
        }
        holders[MedicalSpecialty.General] = Enumerable.Range(0, hospitals).ToArray();

        foreach (var specialty in list.Append(MedicalSpecialty.General))
        {
            var records = pool.Where(r => specialties[r] == specialty).ToList();
            foreach (var group in TopicGroups(records, random))
            {
                var smallest = holders[specialty].MinBy(h => buckets[h].Count);
                buckets[smallest].AddRange(group);
            }
        }
        return buckets;
    }

    private static List<AlpacaRecord>[] NewBuckets(int count) =>
        Enumerable.Range(0, count).Select(_ => new List<AlpacaRecord>()).ToArray();

    private static List<AlpacaRecord>[] DealIid(List<AlpacaRecord> pool, int hospitals)
    {
        var buckets = NewBuckets(hospitals);
        for (int i = 0; i < pool.Count; i++)
        {
            buckets[i % hospitals].Add(pool[i]);
        }

        return buckets;
    }

    /// <summary>Topics in a seeded order, then sorted by size (largest first, stable), each with its records in pool order.</summary>
    private static List<List<AlpacaRecord>> TopicGroups(List<AlpacaRecord> pool, Random random)
    {
        var groups = pool.GroupBy(MedicalTopicExtractor.TopicOf, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.ToList())
            .ToList();
        Shuffle(groups, random);
        return groups.OrderByDescending(g => g.Count).ToList();
    }

    private static List<AlpacaRecord>[] DealByTopic(List<AlpacaRecord> pool, int hospitals, Random random)
    {
        var buckets = NewBuckets(hospitals);
        foreach (var group in TopicGroups(pool, random))
        {
            var smallest = 0;
            for (int h = 1; h < hospitals; h++)
            {
                if (buckets[h].Count < buckets[smallest].Count)
                {
                    smallest = h;
                }
            }

            buckets[smallest].AddRange(group);
        }

        return buckets;
    }

    private static List<AlpacaRecord>[] DealDirichlet(List<AlpacaRecord> pool, int hospitals, double alpha, Random random)
    {
        var buckets = NewBuckets(hospitals);
        foreach (var group in TopicGroups(pool, random))
        {
            var proportions = Dirichlet(hospitals, alpha, random);
            double cumulative = 0;
            var start = 0;
            for (int h = 0; h < hospitals; h++)
            {
                cumulative += proportions[h];
                var end = h == hospitals - 1 ? group.Count : (int)Math.Round(cumulative * group.Count);
                end = Math.Clamp(end, start, group.Count);
                buckets[h].AddRange(group.Skip(start).Take(end - start));
                start = end;
            }
        }

        return buckets;
    }

    private static double[] Dirichlet(int count, double alpha, Random random)
    {
        var draws = new double[count];
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            draws[i] = Gamma(alpha, random);
            sum += draws[i];
        }

        for (int i = 0; i < count; i++)
        {
            draws[i] = sum > 0 ? draws[i] / sum : 1.0 / count;
        }

        return draws;
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang; shapes below 1 use the U^(1/shape) boost.</summary>
    private static double Gamma(double shape, Random random)
    {
        if (shape < 1)
        {
            return Gamma(shape + 1, random) * Math.Pow(random.NextDouble(), 1.0 / shape);
        }

        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = StandardNormal(random);
                v = 1 + c * x;
            }
            while (v <= 0);

            v = v * v * v;
            var u = random.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    private static double StandardNormal(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static void Shuffle<T>(List<T> items, Random random)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
