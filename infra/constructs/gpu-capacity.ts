import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { VPC_AVAILABILITY_ZONES } from '../../pipeline/deploy-parameters.js';

/** Props of {@link GpuCapacity}. */
export interface GpuCapacityProps {
  /** GPU instance type of on-demand capacity, e.g. `g4dn.xlarge`; with Spot, the launch template's default. */
  readonly instanceType: string;
  /** Most instances at once. */
  readonly maxInstances: number;
  /** Use Spot capacity only (price-capacity-optimised, capacity rebalancing, Spot draining). */
  readonly spot: boolean;
  /** With Spot: the instance types the group may launch. Ignored without Spot. */
  readonly spotInstanceTypes: readonly string[];
  /** The VPC's Availability Zones. Default: the region's first {@link VPC_AVAILABILITY_ZONES}. */
  readonly availabilityZones?: readonly string[];
}

/**
 * An ECS cluster on GPU instances that scales from and to zero: an Auto Scaling group on the ECS
 * GPU-optimised Amazon Linux 2023 AMI (NVIDIA driver 580, which runs CUDA 13, and the container
 * toolkit), attached through a capacity provider with managed scaling and managed termination
 * protection. Instances live in public subnets with public addresses, so no NAT gateway is
 * needed; S3 traffic takes a free gateway endpoint. Nothing is accepted inbound, and IMDSv2 with a
 * hop limit of 1 keeps containers (one hop further, on the bridge network) from the instance role.
 */
export class GpuCapacity extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  public readonly capacityProvider: ecs.AsgCapacityProvider;

  constructor(scope: Construct, id: string, props: GpuCapacityProps) {
    super(scope, id);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ...(props.availabilityZones
        ? { availabilityZones: [...props.availabilityZones] }
        : { maxAzs: VPC_AVAILABILITY_ZONES }),
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });

    // Rejected connections only: a record of anything knocking, at next to no cost when idle.
    this.vpc.addFlowLog('RejectedTraffic', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH }),
      ),
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: this.vpc,
      description: 'GPU workers: no inbound, outbound to AWS APIs only over HTTPS',
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to S3, SQS, ECS, ECR, CloudWatch');

    const userData = ec2.UserData.forLinux();
    // CDK writes this only for groups with a spotPrice; a mixed-instances group needs it too, so that
    // ECS drains a task within the two-minute interruption notice.
    if (props.spot) userData.addCommands('echo ECS_ENABLE_SPOT_INSTANCE_DRAINING=true >> /etc/ecs/ecs.config');
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2023(ecs.AmiHardwareType.GPU),
      userData,
      securityGroup,
      associatePublicIpAddress: true,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      // The capacity provider attaches the ECS agent's permissions to this role.
      role: new iam.Role(this, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(100, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Instances', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      minCapacity: 0,
      maxCapacity: props.maxInstances,
      groupMetrics: [autoscaling.GroupMetrics.all()],
      ...(props.spot
        ? {
            mixedInstancesPolicy: {
              launchTemplate,
              launchTemplateOverrides: props.spotInstanceTypes.map((type) => ({
                instanceType: new ec2.InstanceType(type),
              })),
              instancesDistribution: {
                onDemandPercentageAboveBaseCapacity: 0,
                spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
              },
            },
            // Replace an instance at risk of interruption before the two-minute notice comes.
            capacityRebalance: true,
          }
        : { launchTemplate }),
    });

    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedScaling: true,
      enableManagedTerminationProtection: true,
      targetCapacityPercent: 100,
    });
    this.cluster.addAsgCapacityProvider(this.capacityProvider);
  }
}
