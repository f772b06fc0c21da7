import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RAW_RESULT_COLUMNS, RAW_RESULTS_TABLE } from '../../pipeline/results-table.js';

/** Props of {@link ResultQueries}. */
export interface ResultQueriesProps {
  readonly bucket: s3.IBucket;
  readonly resultsPrefix: string;
  /** Where S3 access logs of the query-output bucket go. */
  readonly accessLogBucket: s3.IBucket;
  /** The workgroup's per-query scan limit, GB. */
  readonly scanLimitGb: number;
}

/** Days Athena's query output (result CSVs of `query`) is kept. */
export const QUERY_OUTPUT_RETENTION_DAYS = 7;

/**
 * SQL over the results with Athena: a Glue database and a table over the result JSON below the
 * results prefix (OpenX JSON SerDe, malformed objects skipped), and a workgroup that enforces its
 * own settings — output to an encrypted bucket whose objects expire, engine version 3, a scan
 * limit per query, CloudWatch metrics. `alexnet-pipeline query` defines the `results` table over
 * it (see pipeline/results-table.ts).
 */
export class ResultQueries extends Construct {
  public readonly database: glue.CfnDatabase;
  public readonly table: glue.CfnTable;
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly outputBucket: s3.Bucket;
  public readonly databaseName: string;

  constructor(scope: Construct, id: string, props: ResultQueriesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Glue names: lower-case letters, digits and underscores.
    this.databaseName = `${stack.stackName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_results`;

    this.outputBucket = new s3.Bucket(this, 'QueryOutput', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'query-output/',
      lifecycleRules: [
        {
          expiration: Duration.days(QUERY_OUTPUT_RETENTION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // Only copies of query answers: it empties itself within a week, so nothing is kept.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'alexnet-pipeline results, for Athena' },
    });

    this.table = new glue.CfnTable(this, 'ResultObjects', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: RAW_RESULTS_TABLE,
        description:
          'One row per result JSON below the results prefix; query it through `alexnet-pipeline query` as the table results',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json', EXTERNAL: 'TRUE' },
        storageDescriptor: {
          columns: RAW_RESULT_COLUMNS.map((column) => ({ name: column.name, type: column.type })),
          location: `s3://${props.bucket.bucketName}/${props.resultsPrefix}`,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // Anyone who can write below results/ could put a non-JSON object there: skip it, do not fail every query.
            parameters: { 'ignore.malformed.json': 'true', 'case.insensitive': 'true' },
          },
        },
      },
    });
    this.table.addResourceDependency(this.database);

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${stack.stackName}-results`,
      description: 'alexnet-pipeline query: encrypted, expiring output and a scan limit per query',
      state: 'ENABLED',
      // cdk destroy removes the workgroup with its query history.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.scanLimitGb * 1024 ** 3,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.outputBucket.bucketName}/athena/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }
}
